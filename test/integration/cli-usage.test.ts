/** The agent-mesh command on bad usage: exit code 2, a one-line message and the command's usage on stderr. */
import { afterAll, describe, expect, it } from "vitest";
import { Processes } from "../helpers/processes.js";

const procs = new Processes();

afterAll(async () => {
  await procs.stopAll();
});

describe("agent-mesh usage errors", () => {
  const cases: { name: string; args: string[]; message: RegExp; usage: RegExp }[] = [
    { name: "no command", args: [], message: /^agent-mesh: missing command$/m, usage: /^Usage: agent-mesh <command>/m },
    { name: "an unknown command", args: ["frobnicate"], message: /^agent-mesh: unknown command 'frobnicate'$/m, usage: /^Usage: agent-mesh <command>/m },
    { name: "an unknown option", args: ["agents", "--to", "127.0.0.1:1", "--colour"], message: /^agent-mesh agents: Unknown option '--colour'$/m, usage: /^Usage: agent-mesh agents /m },
    { name: "a missing --to", args: ["agents", "--json"], message: /^agent-mesh agents: missing required option --to$/m, usage: /^Usage: agent-mesh agents /m },
    { name: "a missing --to on submit", args: ["submit", "--capability", "echo", "--input", "1"], message: /missing required option --to$/m, usage: /^Usage: agent-mesh submit /m },
    {
      name: "--input that is not JSON",
      args: ["submit", "--to", "127.0.0.1:1", "--capability", "echo", "--input", "{not json"],
      message: /^agent-mesh submit: --input: not valid JSON/m,
      usage: /^Usage: agent-mesh submit /m,
    },
    {
      name: "a non-numeric port",
      args: ["node", "--id", "a", "--port", "http", "--capabilities", "echo"],
      message: /^agent-mesh node: --port: expected an integer from 0 to 65535, got "http"$/m,
      usage: /^Usage: agent-mesh node /m,
    },
    {
      name: "a port out of range",
      args: ["node", "--id", "a", "--port", "65536", "--capabilities", "echo"],
      message: /^agent-mesh node: --port: expected an integer from 0 to 65535, got "65536"$/m,
      usage: /^Usage: agent-mesh node /m,
    },
    { name: "a bad port in --to", args: ["agents", "--to", "localhost:http"], message: /^agent-mesh agents: --to: port must be an integer/m, usage: /^Usage: agent-mesh agents /m },
    { name: "a --to without a port", args: ["agents", "--to", "localhost"], message: /^agent-mesh agents: --to: expected HOST:PORT, got "localhost"$/m, usage: /^Usage: agent-mesh agents /m },
    {
      name: "a capability that is not built in",
      args: ["node", "--id", "a", "--port", "0", "--capabilities", "echo,teleport"],
      message: /^agent-mesh node: --capabilities: "teleport" is not a built-in capability \(built-ins: echo, sleep, uppercase, reverse, wordcount, keywords, delegate, fail;/m,
      usage: /^Usage: agent-mesh node /m,
    },
    { name: "a node without --id", args: ["node", "--port", "0", "--capabilities", "echo"], message: /missing required option --id$/m, usage: /^Usage: agent-mesh node /m },
    { name: "too few demo nodes", args: ["demo", "--nodes", "2"], message: /--nodes: expected an integer from 3 to 16, got "2"$/m, usage: /^Usage: agent-mesh demo /m },
    { name: "a status without --to", args: ["status", "--all"], message: /^agent-mesh status: missing required option --to$/m, usage: /^Usage: agent-mesh status /m },
    { name: "an unknown status option", args: ["status", "--to", "127.0.0.1:1", "--every"], message: /^agent-mesh status: Unknown option '--every'$/m, usage: /^Usage: agent-mesh status /m },
    { name: "a bad status --timeout", args: ["status", "--to", "127.0.0.1:1", "--timeout", "soon"], message: /^agent-mesh status: --timeout: expected an integer/m, usage: /^Usage: agent-mesh status /m },
    { name: "a positional argument", args: ["agents", "127.0.0.1:1"], message: /^agent-mesh agents: Unexpected argument '127.0.0.1:1'/m, usage: /^Usage: agent-mesh agents /m },
  ];

  for (const c of cases) {
    it(`exits 2 on ${c.name}`, async () => {
      const r = await procs.run(c.args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(c.message);
      expect(r.stderr).toMatch(c.usage);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it("prints usage on stdout and exits 0 for --help", async () => {
    for (const args of [["--help"], ["node", "--help"], ["agents", "-h"], ["status", "--help"], ["submit", "--help"], ["demo", "--help"]]) {
      const r = await procs.run(args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toMatch(/^Usage: agent-mesh /);
      expect(r.stderr).toBe("");
    }
  });
});
