/**
 * `npm run bench:readers`: streaming from a real BPF producer, tsbpf's readers beside libbpf's
 * ring_buffer__poll / perf_buffer__poll in C, in the same run.
 *
 * The producer is benchmarks/c/stream_producer (getppid(2) in a tight loop, pinned to CPU 0);
 * bpf/readers/stream.o's tracepoint turns each call into one 16-byte record. Each reader runs
 * pinned to CPU 1: libbpf in benchmarks/c/stream_libbpf, tsbpf in this process, through
 * `for await` (the idiomatic path) and `wait()` + `poll()` (the lowest level). Measured per
 * run: CPU time of the reading process (getrusage: every thread, kernel included) per record
 * received, records lost (ring full: the program's `dropped` counter, for both kinds),
 * and, for tsbpf, the event loop's lag: how late a 10 ms setInterval in the same process fires
 * (p99, max). Scenarios: paced at 100k records/s, and an unpaced burst.
 *
 *   npm run bench:readers              3 rounds per row (medians), ~1 min
 *   npm run bench:readers -- --quick   1 round, fewer records (a smoke run, ~10 s)
 *
 * Writes benchmarks/results/readers.json (readers-quick.json for --quick).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { Collection } from "../src/collection/collection.js";
import { CollectionSpec } from "../src/elf/collection-spec.js";
import { attachTracepoint } from "../src/link/tracepoint.js";
import { PerfReader } from "../src/perf/reader.js";
import { RingBufReader } from "../src/ringbuf/reader.js";
import { BENCH_DIR, BUILD_DIR, buildC } from "./harness.js";

const OBJECT = join(BENCH_DIR, "../bpf/readers/stream.o");
const PRODUCER = join(BUILD_DIR, "stream_producer");
const PRODUCER_CPU = 0;
const READER_CPU = 1;
/** Perf ring pages per CPU, the same for libbpf and tsbpf. */
const PERF_PAGES = 64;
const LAG_INTERVAL_MS = 10;

type Kind = "ringbuf" | "perf";
type Consumer = "libbpf (C)" | "for await" | "wait() + poll()" | "no reader (lag baseline)";

interface Scenario {
  kind: Kind;
  /** Calls per second; 0 for an unpaced burst. */
  rate: number;
  calls: number;
}

interface Run {
  records: number;
  /** Records the kernel could not deliver: program-side drops (ringbuf) or PERF_RECORD_LOST samples (perf). */
  lost: number;
  produced: number;
  cpuNs: number;
  wallNs: number;
  lagP99Ms?: number;
  lagMaxMs?: number;
  /** Lag counting only the JS thread's running time (ms). */
  ranP99Ms?: number;
  ranMaxMs?: number;
  /** How long the JS thread waited for a CPU during the latest tick (ms). */
  maxWaitedMs?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function runLibbpf(s: Scenario): Run {
  const out = execFileSync(
    "taskset",
    ["-c", String(READER_CPU), join(BUILD_DIR, "stream_libbpf"), s.kind, OBJECT, PRODUCER, String(s.rate), String(s.calls), String(PERF_PAGES), String(PRODUCER_CPU)],
    { encoding: "utf8" },
  );
  const r = JSON.parse(out.trim().split("\n").pop()!) as { records: number; lost: number; produced: number; dropped: number; cpuNs: number; wallNs: number };
  // Loss as the program counted it (a failed reserve or perf output): a perf reader's
  // PERF_RECORD_LOST count misses samples dropped at the end of a stream (the kernel writes the
  // record only with the next sample that fits).
  return { records: r.records, lost: r.dropped, produced: r.produced, cpuNs: r.cpuNs, wallNs: r.wallNs };
}

/** The JS thread's scheduler counters (ns): time on a CPU, time runnable but waiting for one. */
function schedstat(): { ran: number; waited: number } {
  const [ran, waited] = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ").map(Number);
  return { ran, waited };
}

interface LagFigures {
  /** Wall-clock lateness of the timer (ms): p99, max. */
  p99: number;
  max: number;
  /** Lateness counting only the time the JS thread ran (ms): what the reader controls. */
  ranP99: number;
  ranMax: number;
  /** Of the latest tick: ms the thread waited for a CPU (runnable, not running). */
  maxWaited: number;
}

/**
 * Lateness of a periodic timer, for the event loop's lag. Each tick also reads the JS thread's
 * scheduler counters, so a late tick splits into the time the thread ran (the reader's doing:
 * it did not let the loop turn) and the time it was runnable but waiting for a CPU (the
 * machine's: other processes on this CPU).
 */
function lagMeter(): { stop(): LagFigures } {
  const wall: number[] = [];
  const ran: number[] = [];
  let worst = -1;
  let worstWaited = 0;
  let last = performance.now();
  let lastSched = schedstat();
  const t = setInterval(() => {
    const now = performance.now();
    const sched = schedstat();
    const late = Math.max(0, now - last - LAG_INTERVAL_MS);
    const ranMs = (sched.ran - lastSched.ran) / 1e6;
    wall.push(late);
    ran.push(Math.max(0, Math.min(now - last, ranMs) - LAG_INTERVAL_MS));
    if (late > worst) {
      worst = late;
      worstWaited = (sched.waited - lastSched.waited) / 1e6;
    }
    last = now;
    lastSched = sched;
  }, LAG_INTERVAL_MS);
  const q = (xs: number[], f: number): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * f))] : 0;
  };
  return {
    stop() {
      clearInterval(t);
      return { p99: q(wall, 0.99), max: q(wall, 1), ranP99: q(ran, 0.99), ranMax: q(ran, 1), maxWaited: worstWaited };
    },
  };
}

async function runTsbpf(s: Scenario, consumer: Consumer): Promise<Run> {
  using coll = Collection.load(CollectionSpec.fromFile(OBJECT));
  const child = spawn(PRODUCER, [String(s.rate), String(s.calls)], { stdio: ["pipe", "pipe", "inherit"] });
  execFileSync("taskset", ["-cp", String(PRODUCER_CPU), String(child.pid)], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  coll.maps.config.set(0, child.pid!);
  using link = attachTracepoint(coll.programs[s.kind === "perf" ? "perf_getppid" : "rb_getppid"], { category: "syscalls", name: "sys_enter_getppid" });
  void link;
  const reader = s.kind === "perf" ? new PerfReader(coll.maps.events, { pages: PERF_PAGES }) : new RingBufReader(coll.maps.rb);
  let records = 0;
  let producerDone = false;
  void exited.then(() => (producerDone = true));
  // After the producer exits: close the reader once 3 looks 10 ms apart find nothing new.
  const ender = (async () => {
    await exited;
    let seen = -1;
    for (let quiet = 0; quiet < 3; ) {
      await new Promise((r) => setTimeout(r, 10));
      quiet = records === seen ? quiet + 1 : 0;
      seen = records;
    }
    reader.close();
  })();
  const lag = lagMeter();
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  child.stdin.write("go\n");
  if (consumer === "no reader (lag baseline)") {
    // The machine's own share of the lag: the same timer and producer, nothing read.
    await exited;
    reader.close();
  } else if (consumer === "for await") {
    if (reader instanceof PerfReader) {
      for await (const e of reader) if (e.type === "sample") records++;
    } else {
      for await (const bytes of reader) {
        void bytes;
        records++;
      }
    }
  } else {
    const count = (): void => {
      records++;
    };
    const countPerf = (r: { type: string }): void => {
      if (r.type === "sample") records++;
    };
    while (!reader.closed) {
      if (!(await reader.wait({ timeoutMs: 100 }))) {
        if (producerDone && reader.closed) break;
        continue;
      }
      if (reader instanceof PerfReader) reader.poll(countPerf);
      else reader.poll(count);
    }
  }
  await ender;
  const cpu = process.cpuUsage(cpu0);
  const wallNs = Number(process.hrtime.bigint() - wall0);
  const l = lag.stop();
  const lost = Number(coll.variables.dropped.value); // as the program counted it (see runLibbpf)
  const produced = Number(coll.variables.produced.value);
  return { records, lost, produced, cpuNs: (cpu.user + cpu.system) * 1000, wallNs, lagP99Ms: l.p99, lagMaxMs: l.max, ranP99Ms: l.ranP99, ranMaxMs: l.ranMax, maxWaitedMs: l.maxWaited };
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  for (const a of process.argv.slice(2)) if (a !== "--quick") throw new Error(`unknown argument ${a} (see the header of benchmarks/readers.ts)`);
  if (process.getuid?.() !== 0) throw new Error("the benchmarks need root (bpf(2) is root-only here)");
  buildC();
  execFileSync("taskset", ["-a", "-cp", String(READER_CPU), String(process.pid)], { stdio: "ignore" });
  const rounds = quick ? 1 : 3;
  const paced = quick ? 30_000 : 100_000;
  const burst = quick ? 100_000 : 300_000;
  const scenarios: Scenario[] = [
    { kind: "ringbuf", rate: 100_000, calls: paced },
    { kind: "ringbuf", rate: 0, calls: burst },
    { kind: "perf", rate: 100_000, calls: paced },
    { kind: "perf", rate: 0, calls: burst },
  ];
  const consumers: Consumer[] = ["libbpf (C)", "for await", "wait() + poll()", "no reader (lag baseline)"];
  const rows: { scenario: string; consumer: Consumer; records: number; produced: number; lost: number; lostPct: number; cpuNsPerRecord: number; cpuMs: number; ratio: number; lagP99Ms?: number; lagMaxMs?: number; ranP99Ms?: number; ranMaxMs?: number; worstWaitedMs?: number }[] = [];
  await runTsbpf({ kind: "ringbuf", rate: 0, calls: 20_000 }, "for await"); // warm up the JIT
  for (const s of scenarios) {
    const name = `${s.kind} ${s.rate ? `paced ${s.rate / 1000}k/s` : "burst"} (${s.calls / 1000}k calls)`;
    const perConsumer = new Map<Consumer, Run[]>();
    // Alternate the consumers round by round so each sees the same machine state.
    for (let round = 0; round < rounds; round++) {
      for (const c of consumers) {
        const run = c === "libbpf (C)" ? runLibbpf(s) : await runTsbpf(s, c);
        perConsumer.set(c, [...(perConsumer.get(c) ?? []), run]);
        process.stderr.write(`  ${name} ${c}: ${run.records} records, ${(run.cpuNs / Math.max(1, run.records)).toFixed(0)} ns CPU/record, lag max ${run.lagMaxMs?.toFixed(1) ?? "-"} ms (ran ${run.ranMaxMs?.toFixed(1) ?? "-"}, waited for a CPU ${run.maxWaitedMs?.toFixed(1) ?? "-"})\n`);
      }
    }
    const cost = (r: Run): number => (r.records > 0 ? r.cpuNs / r.records : 0);
    const cBase = median(perConsumer.get("libbpf (C)")!.map(cost));
    for (const c of consumers) {
      const runs = perConsumer.get(c)!;
      const per = median(runs.map(cost));
      const mid = runs.find((r) => cost(r) === per)!;
      rows.push({
        scenario: name,
        consumer: c,
        records: mid.records,
        produced: mid.produced,
        lost: mid.lost,
        lostPct: (100 * mid.lost) / Math.max(1, mid.produced),
        cpuNsPerRecord: per,
        // Whole-run CPU: for "no reader", what the Node process costs with nothing to read.
        cpuMs: mid.cpuNs / 1e6,
        ratio: per / cBase,
        lagP99Ms: c === "libbpf (C)" ? undefined : Math.max(...runs.map((r) => r.lagP99Ms!)),
        lagMaxMs: c === "libbpf (C)" ? undefined : Math.max(...runs.map((r) => r.lagMaxMs!)),
        ranP99Ms: c === "libbpf (C)" ? undefined : Math.max(...runs.map((r) => r.ranP99Ms!)),
        ranMaxMs: c === "libbpf (C)" ? undefined : Math.max(...runs.map((r) => r.ranMaxMs!)),
        // The CPU wait inside the latest tick of the run whose tick was latest.
        worstWaitedMs: c === "libbpf (C)" ? undefined : runs.reduce((a, r) => (r.lagMaxMs! > a.lagMaxMs! ? r : a)).maxWaitedMs,
      });
    }
  }
  const header = ["scenario", "reader", "records", "lost", "CPU", "CPU/record", "× libbpf", "lag p99", "lag max", "(waited for CPU)", "ran p99", "ran max"];
  const table = rows.map((r) => [
    r.scenario,
    r.consumer,
    String(r.records),
    `${r.lost} (${r.lostPct.toFixed(2)}%)`,
    `${r.cpuMs.toFixed(0)} ms`,
    r.records ? `${(r.cpuNsPerRecord / 1000).toFixed(2)} µs` : "",
    r.records ? `${r.ratio.toFixed(2)}×` : "",
    r.lagP99Ms === undefined ? "" : `${r.lagP99Ms.toFixed(1)} ms`,
    r.lagMaxMs === undefined ? "" : `${r.lagMaxMs.toFixed(1)} ms`,
    r.worstWaitedMs === undefined ? "" : `(${r.worstWaitedMs.toFixed(1)} ms)`,
    r.ranP99Ms === undefined ? "" : `${r.ranP99Ms.toFixed(1)} ms`,
    r.ranMaxMs === undefined ? "" : `${r.ranMaxMs.toFixed(1)} ms`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  console.log([line(header), widths.map((w) => "-".repeat(w)).join("  "), ...table.map(line)].join("\n"));
  console.log(
    `\nlag: wall-clock lateness of a ${LAG_INTERVAL_MS} ms setInterval in the reading process, worst of ${rounds} round(s); (waited for CPU): of the latest tick, ` +
      `the time the JS thread was runnable but not running (/proc schedstat); ran: lateness counting only the JS thread's running time (what the reader controls); CPU/record: median of ${rounds}; ` +
      `CPU: of that run, the whole process (for "no reader": Node's own cost with nothing to read)`,
  );
  mkdirSync(join(BENCH_DIR, "results"), { recursive: true });
  const file = quick ? "readers-quick.json" : "readers.json";
  writeFileSync(join(BENCH_DIR, "results", file), `${JSON.stringify({ date: new Date().toISOString(), kernel: release(), node: process.version, rounds, rows }, null, 2)}\n`);
  console.log(`results written to benchmarks/results/${file}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
});
