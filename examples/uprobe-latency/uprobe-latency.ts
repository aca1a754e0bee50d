// uprobe-latency: how long a function of a user binary takes, from a uprobe on its entry and a
// uretprobe on its return: a log2 histogram of microseconds and p50/p90/p99.
// Usage: npm run example -- uprobe-latency <binary>:<function> [--pid TGID] [--count N] [--duration S]
//   (stops after N calls, S seconds or Ctrl-C, whichever comes first)
import { parseArgs } from "node:util";
import { formatLog2Hist } from "../lib/log2-hist.js";
import { loadSpec } from "./uprobe_latency.bpf.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { pid: { type: "string" }, count: { type: "string" }, duration: { type: "string" } },
});
const target = positionals[0] ?? "";
const colon = target.lastIndexOf(":");
if (positionals.length !== 1 || colon <= 0 || colon === target.length - 1) {
  console.error("usage: npm run example -- uprobe-latency <binary>:<function> [--pid TGID] [--count N] [--duration S]");
  process.exit(2);
}
const path = target.slice(0, colon);
const symbol = target.slice(colon + 1);
const limit = values.count === undefined ? Infinity : Number(values.count);

const controller = new AbortController();
// `on`, not `once`: through `npm run example` a terminal's Ctrl-C arrives twice (the process
// group's and the runner's), and the second must not find the default handler and kill the cleanup.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => controller.abort());
if (values.duration !== undefined) setTimeout(() => controller.abort(), Number(values.duration) * 1000).unref();

const spec = loadSpec();
if (values.pid !== undefined) spec.variables.target_tgid.value = Number(values.pid);
using obj = spec.load();
using _links = obj.attachAll({ enter: { path, symbol }, leave: { path, symbol } });
using samples = obj.ringBuf("samples", "sample");
console.log(`uprobe-latency: tracing ${symbol} in ${path}; ${limit === Infinity ? "" : `${limit} calls, `}Ctrl-C to end`);

const durations: bigint[] = [];
try {
  while (durations.length < limit) {
    const s = await samples.read({ signal: controller.signal });
    if (s === undefined) break;
    durations.push(s.ns);
  }
} catch (err) {
  if (!controller.signal.aborted) throw err;
}

const counts: number[] = [];
for (const [slot, count] of obj.maps.hist) counts[slot] = Number(count);
console.log("");
for (const line of formatLog2Hist(Array.from(counts, (c) => c ?? 0), "usecs")) console.log(line);

/** The nearest-rank percentile of sorted `xs`. */
function percentile(xs: readonly bigint[], p: number): bigint {
  return xs[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)] ?? 0n;
}
durations.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const us = (ns: bigint): string => (Number(ns) / 1000).toFixed(1);
console.log(`\ncalls: ${durations.length}`);
if (durations.length > 0) console.log(`p50: ${us(percentile(durations, 50))} us  p90: ${us(percentile(durations, 90))} us  p99: ${us(percentile(durations, 99))} us`);
console.log(`stopped; ${obj.variables.dropped.value} samples dropped`);
