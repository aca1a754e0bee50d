// exporter: an ebpf_exporter-style Prometheus endpoint. Tracepoints count syscalls per number
// and time them into a log2 histogram; every scrape of /metrics reads the maps.
// Usage: npm run example -- exporter [--port N (default 9435, 0 = any)] [--host H] [--pid N] [--duration S]
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Counter, Histogram, Registry } from "prom-client";
import { isSyscallError } from "../../src/index.js";
import { loadSpec, type Exporter } from "./exporter.bpf.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9435" },
    host: { type: "string", default: "127.0.0.1" },
    pid: { type: "string" },
    duration: { type: "string" },
  },
});

/** Bucket i of `latency_log2` counts latencies in [2^i, 2^(i+1)) ns: its upper bound in seconds. */
const upperBoundSeconds = (i: number) => 2 ** (i + 1) / 1e9;

const HISTOGRAM = "ebpf_syscall_latency_seconds";

/**
 * A Prometheus histogram whose buckets are already counted in the kernel. prom-client's
 * Histogram counts observations itself and has no API to set bucket counts, so this subclass
 * replaces getForPromString — the method prom-client's Registry (and Histogram.get) read a
 * histogram's samples from — with one that reads the log2 map at scrape time.
 */
class MapHistogram extends Histogram<string> {
  readonly #obj: Exporter;
  constructor(obj: Exporter, registry: Registry) {
    super({ name: HISTOGRAM, help: "Syscall latency, enter to exit, in log2 buckets counted by eBPF", registers: [registry] });
    this.#obj = obj;
  }
  async getForPromString() {
    const counts: bigint[] = [];
    for (const [i, c] of this.#obj.maps.latency_log2.entries()) counts[i] = c;
    const last = counts.findLastIndex((c) => c > 0n);
    const values = [];
    let cumulative = 0n;
    for (let i = 0; i <= last; i++) {
      cumulative += counts[i] ?? 0n;
      values.push({ metricName: `${HISTOGRAM}_bucket`, labels: { le: upperBoundSeconds(i) }, value: Number(cumulative) });
    }
    values.push({ metricName: `${HISTOGRAM}_bucket`, labels: { le: "+Inf" }, value: Number(cumulative) });
    values.push({ metricName: `${HISTOGRAM}_sum`, labels: {}, value: Number(this.#obj.variables.latency_sum_ns.value) / 1e9 });
    values.push({ metricName: `${HISTOGRAM}_count`, labels: {}, value: Number(cumulative) });
    return { name: HISTOGRAM, help: "Syscall latency, enter to exit, in log2 buckets counted by eBPF", type: "histogram", values, aggregator: "sum" };
  }
}

// Ctrl-C, SIGTERM or --duration abort: the server closes, then `using` closes links and maps.
// `on`, not `once`: a terminal's Ctrl-C arrives twice (process group, and passed on by
// examples/run.ts); should the second come after the listener is gone, it would kill uncleaned.
const controller = new AbortController();
process.on("SIGINT", () => controller.abort());
process.on("SIGTERM", () => controller.abort());
if (values.duration !== undefined) setTimeout(() => controller.abort(), Number(values.duration) * 1000).unref();

/** The machine refused to load or attach: its one-line message. */
class Refused extends Error {}

/** Run `fn`; a syscall the machine refuses becomes a Refused that says what and why. */
function orRefused<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!isSyscallError(err)) throw err;
    throw new Refused(`exporter: this machine refuses its tracepoint programs: ${err.message.split("\n")[0]}`);
  }
}

/** Serve /metrics until aborted; the exit status. `using` closes links and maps on every way out. */
async function main(): Promise<number> {
  const spec = loadSpec();
  if (values.pid !== undefined) spec.variables.target_tgid.value = Number(values.pid);
  using obj = orRefused(() => spec.load());
  using _links = orRefused(() => obj.attachAll());

  const registry = new Registry();
  new Counter({
    name: "ebpf_syscalls_total",
    help: "Syscalls entered, by syscall number, counted by eBPF",
    labelNames: ["syscall"],
    registers: [registry],
    collect() {
      // The map holds totals since load: set each label's value to it.
      this.reset();
      for (const [nr, n] of obj.maps.syscall_counts.entries()) this.inc({ syscall: nr }, Number(n));
    },
  });
  new MapHistogram(obj, registry);

  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end("see /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(`${String(err)}\n`),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(Number(values.port), values.host, resolve);
    });
  } catch (err) {
    if (!(err instanceof Error && "code" in err && err.code === "EADDRINUSE")) throw err;
    console.log(`exporter: ${values.host}:${values.port} is in use; pass --port N (0 for any free port)`);
    return 1;
  }
  const address = server.address();
  const port = address !== null && typeof address === "object" ? address.port : Number(values.port);
  console.log(`serving http://${values.host}:${port}/metrics`);
  const { signal } = controller;
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  await new Promise((resolve) => server.close(resolve));
  console.log("stopped");
  return 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  if (!(err instanceof Refused)) throw err;
  console.log(err.message); // one line, exit 0, as every example does where the machine says no
}
