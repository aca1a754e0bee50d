// opensnoop: every openat(2) on the machine, streamed from a tracepoint through a ring buffer.
// Usage: npm run example -- opensnoop [--pid N] [--name COMM] [--duration S]   (Ctrl-C stops it)
import { parseArgs } from "node:util";
import { loadSpec } from "./opensnoop.bpf.js";

const { values } = parseArgs({
  options: { pid: { type: "string" }, name: { type: "string" }, duration: { type: "string" } },
});
const controller = new AbortController();
// `on`, not `once`: through `npm run example` a terminal's Ctrl-C arrives twice (the process
// group's and the runner's), and the second must not find the default handler and kill the cleanup.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => controller.abort());
if (values.duration !== undefined) setTimeout(() => controller.abort(), Number(values.duration) * 1000).unref();

const spec = loadSpec();
if (values.pid !== undefined) spec.variables.target_tgid.value = Number(values.pid);
using obj = spec.load();
using _links = obj.attachAll();
using events = obj.ringBuf("events", "event");

console.log(`${"PID".padEnd(8)}${"COMM".padEnd(17)}${"FLAGS".padEnd(10)}FILE`);
try {
  for (;;) {
    const e = await events.read({ signal: controller.signal });
    if (e === undefined) break;
    if (values.name !== undefined && e.comm !== values.name) continue;
    console.log(`${String(e.pid).padEnd(8)}${e.comm.padEnd(17)}${("0x" + e.flags.toString(16)).padEnd(10)}${e.filename}`);
  }
} catch (err) {
  if (!controller.signal.aborted) throw err;
}
console.log(`stopped; ${obj.variables.dropped.value} events dropped`);
