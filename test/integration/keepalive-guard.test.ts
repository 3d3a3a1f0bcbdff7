/**
 * The node command's guard against connect-node's keepalive ping on a destroyed HTTP/2 session
 * (connectrpc/connect-es#1795), in a child process: an idle session with its keepalive armed is destroyed under
 * its manager by a timer that runs late in the same timers phase as the keepalive (as in a node resumed after
 * SIGSTOP), so the ping hits the destroyed session before its close handler stops the keepalive. Without the guard
 * that ends the process; with it the process carries on and logs a warning. Any other uncaught exception still
 * ends the process (exit 1).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const guardModule = pathToFileURL(join(root, "dist/src/cli/keepalive-guard.js")).href;
const connectNode = pathToFileURL(join(root, "node_modules/@connectrpc/connect-node/dist/esm/index.js")).href;

/** The child: `race` (guarded) and `bare` (unguarded) run the race; `other` throws something else (guarded). */
const SCRIPT = `
import * as http2 from "node:http2";
import { Http2SessionManager } from ${JSON.stringify(connectNode)};
import { guardKeepalivePing } from ${JSON.stringify(guardModule)};
const [mode] = process.argv.slice(2);
const log = (level) => (fields, msg) => process.stderr.write(level + " " + msg + "\\n");
if (mode !== "bare") guardKeepalivePing({ debug() {}, info() {}, warn: log("WARN"), error: log("ERROR"), child() { return this; } });
if (mode === "other") setTimeout(() => { throw new Error("something else broke"); }, 10);
const server = http2.createServer();
server.on("stream", () => {});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const manager = new Http2SessionManager("http://127.0.0.1:" + server.address().port, { pingIntervalMs: 300, pingIdleConnection: true });
const stream = await manager.request("POST", "/x", {}, {});
stream.on("error", () => {});
const session = stream.session;
stream.close();
await new Promise((r) => setTimeout(r, 5)); // no stream left: the idle keepalive is armed
setTimeout(() => session.destroy(), 20); // the session dies under the manager (as on a transport error)
const until = Date.now() + 500;
while (Date.now() < until) {} // both timers are overdue when the event loop runs again (as after SIGCONT)
setTimeout(() => { process.stdout.write("still running\\n"); server.close(); process.exit(0); }, 200);
`;

let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "agent-mesh-guard-"));
  script = join(dir, "race.mjs");
  await writeFile(script, SCRIPT);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runChild(mode: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [script, mode], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

describe("the keepalive guard of agent-mesh node", () => {
  it("survives a keepalive ping on a session destroyed in the same timers phase, with a warning", async () => {
    const r = await runChild("race");
    expect(r.stdout, r.stderr).toBe("still running\n");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("WARN ignored a keepalive ping on a destroyed HTTP/2 session");
  });

  it("is needed: without it the same race ends the process", async () => {
    const r = await runChild("bare");
    expect(r.code, "connect-node no longer pings destroyed sessions? then the guard can go").toBe(1);
    expect(r.stderr).toContain("ERR_HTTP2_INVALID_SESSION");
    expect(r.stderr).toContain("commonPing");
  });

  it("still ends the process on any other uncaught exception", async () => {
    const r = await runChild("other");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Error: something else broke");
  });
});
