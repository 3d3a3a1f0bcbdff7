/**
 * CPU time and resident memory of another process, read from Linux /proc (the benchmark runs on loopback
 * on Linux): /proc/PID/stat for user + system CPU ticks, /proc/PID/status for VmRSS.
 */
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node supports

/** CPU time (user + system) process `pid` has used so far, seconds; NaN when it cannot be read. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime (fields 14 and 15)
  } catch {
    return NaN;
  }
}

/** Resident set size of process `pid`, MB (VmRSS); NaN when it cannot be read. */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** True when /proc gives this process's CPU and memory (Linux). */
export function procAvailable() {
  return Number.isFinite(cpuSeconds(process.pid)) && Number.isFinite(rssMb(process.pid));
}

/** Starts measuring CPU of `pids` (name → pid); stop() gives each one's CPU use as a percentage of one core over the wall time. */
export function cpuMeter(pids) {
  const start = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  return {
    /** CPU % of one core per process name since the meter started, and the wall time in seconds. */
    stop() {
      const wallS = (performance.now() - start) / 1000;
      const percent = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, ((cpuSeconds(pid) - before[name]) / wallS) * 100]));
      return { wallS, percent };
    },
  };
}
