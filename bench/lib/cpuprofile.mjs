/**
 * Summaries of a V8 .cpuprofile (as `node --cpu-prof` writes it): self time per function and per package
 * (node_modules package, the project's own dist/ files, Node internals, GC, idle).
 */
import { readFileSync } from "node:fs";

/** Self time (ms) of every sampled function and of every package in the profile at `path`, largest first. */
export function summariseProfile(path) {
  const profile = JSON.parse(readFileSync(path, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  // timeDeltas[i] is the time before sample i; charge it to that sample's node.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fn = new Map();
  const pkg = new Map();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    totalUs += us;
    if (cf.functionName === "(idle)") idleUs += us;
    const where = shortUrl(cf.url);
    const name = `${cf.functionName || "(anonymous)"} ${where}${cf.url ? `:${cf.lineNumber + 1}` : ""}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const p = packageOf(cf);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, percentOfBusy: (us / Math.max(1, totalUs - idleUs)) * 100 }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, functions: sorted(fn).filter((f) => f.name !== "(idle) "), packages: sorted(pkg).filter((p) => p.name !== "(idle)") };
}

/** A URL shortened to the part that says where it is (package/path or dist/path or node:module). */
function shortUrl(url) {
  if (!url) return "";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const dist = url.indexOf("/dist/");
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, "");
}

/** The package a frame belongs to: an npm package, "agent-mesh (dist/src/DIR)", "node:internal", or a V8 pseudo-frame. */
function packageOf(cf) {
  const url = cf.url;
  if (!url) return cf.functionName.startsWith("(") ? cf.functionName : "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const m = /\/dist\/(src\/[^/]+|gen)\//.exec(url);
  if (m) return `agent-mesh ${m[1]}`;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0] === "internal" ? "internal" : url.slice(5)}`;
  return url;
}
