// runqlat: how long runnable tasks wait for a CPU, as a log2 histogram of microseconds (bcc's
// runqlat). Usage: npm run example -- runqlat [--interval S] [--count N] [--pid TGID] [--per-process]
import { parseArgs } from "node:util";
import { formatLog2Hist } from "../lib/log2-hist.js";
import { loadSpec, type HistKey, type Runqlat } from "./runqlat.bpf.js";

const { values } = parseArgs({
  options: {
    interval: { type: "string", default: "1" },
    count: { type: "string" },
    pid: { type: "string" },
    "per-process": { type: "boolean", default: false },
    attach: { type: "string" },
  },
});
const intervalMs = Number(values.interval) * 1000;
const rounds = values.count === undefined ? Infinity : Number(values.count);
if (!(intervalMs > 0) || !(rounds > 0)) throw new TypeError("runqlat: --interval and --count must be positive");

// The same logic reaches the scheduler three ways; the first the machine allows is used.
const ATTACH_KINDS = [
  { kind: "tp_btf", programs: ["btf_wakeup", "btf_wakeup_new", "btf_switch"] },
  { kind: "raw_tp", programs: ["raw_wakeup", "raw_wakeup_new", "raw_switch"] },
  { kind: "tracepoint", programs: ["tp_wakeup", "tp_wakeup_new", "tp_switch"] },
];

function start(): { obj: Runqlat; links: Disposable; kind: string } {
  const refused: string[] = [];
  const kinds = ATTACH_KINDS.filter((k) => values.attach === undefined || k.kind === values.attach);
  if (kinds.length === 0) throw new TypeError(`runqlat: --attach must be one of ${ATTACH_KINDS.map((k) => k.kind).join(", ")}`);
  for (const { kind, programs } of kinds) {
    const spec = loadSpec();
    if (values.pid !== undefined) spec.variables.target_tgid.value = Number(values.pid);
    spec.variables.per_process.value = values["per-process"] ? 1 : 0;
    let obj: Runqlat | undefined;
    try {
      obj = spec.load({ programs });
      const links = obj.attachAll();
      return { obj, links, kind: refused.length === 0 ? kind : `${kind} (${refused.join("; ")})` };
    } catch (err) {
      obj?.close();
      if (!(err instanceof Error)) throw err;
      refused.push(`${kind} refused: ${err.message.split("\n")[0]}`);
    }
  }
  throw new Error(`runqlat: no way to reach the scheduler tracepoints: ${refused.join("; ")}`);
}

const controller = new AbortController();
// `on`, not `once`: through `npm run example` a terminal's Ctrl-C arrives twice (the process
// group's and the runner's), and the second must not find the default handler and kill the cleanup.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => controller.abort());
const { obj, links, kind } = start();
using o = obj;
using _links = links;
console.log(`runqlat: tracing run queue latency with ${kind}; ${values.count === undefined ? "Ctrl-C to end" : `${rounds} interval(s) of ${values.interval} s`}`);

/** Take the histograms (by tgid, or one under id 0) out of the map and clear it. */
function drain(): Map<number, number[]> {
  const byId = new Map<number, number[]>();
  const keys: HistKey[] = [];
  for (const [key, count] of o.maps.hists) {
    keys.push(key);
    const counts = byId.get(key.id) ?? [];
    while (counts.length <= key.slot) counts.push(0);
    counts[key.slot] += Number(count);
    byId.set(key.id, counts);
  }
  for (const key of keys) o.maps.hists.delete(key);
  return byId;
}

for (let round = 0; round < rounds && !controller.signal.aborted; round++) {
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, intervalMs);
    controller.signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
  console.log(`\n${new Date().toISOString().slice(11, 19)}`);
  const hists = drain();
  if (hists.size === 0) console.log("(no run queue waits seen)");
  for (const [id, counts] of [...hists].sort((a, b) => a[0] - b[0])) {
    if (values["per-process"]) console.log(`\npid = ${id}`);
    for (const line of formatLog2Hist(counts, "usecs")) console.log(line);
    console.log(`total: ${counts.reduce((a, b) => a + b, 0)} waits`);
  }
}
console.log("runqlat: done");
