/**
 * The benchmark harness: what a row is, how both sides of a row are measured, and how the
 * results are printed and saved. Suites (`benchmarks/suites/*.ts`) only declare rows; see
 * docs/benchmarks.md.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const C_DIR = join(BENCH_DIR, "c");
export const BUILD_DIR = join(BENCH_DIR, "build");

/** The TypeScript side of a row, prepared by `setup()`. */
export interface BenchFixture {
  /**
   * Do the row's work `iterations` times and return how many units (ops, calls, elements)
   * were done: the table shows ns per unit. A row whose work happens in child processes (the
   * cold-start rows) returns `{ units, ns }` instead: the time the children measured
   * themselves, without the parent's spawning around them.
   */
  run(iterations: number): number | { units: number; ns: number };
  /** Release what setup made (maps, programs). */
  close?(): void;
}

/**
 * The C side of a row: `benchmarks/build/<binary> <case> <iterations> [...args]` once per
 * round, or, when `persistent`, `<binary> <case> serve [...args]` started once per row and
 * asked for one timed loop per round (see bench.h).
 */
export interface CCounterpart {
  /** Basename of `benchmarks/c/<binary>.c`. */
  binary: string;
  /** The case name the binary dispatches on. */
  case: string;
  /** Extra arguments after the iteration count (sizes, entry counts). */
  args?: readonly (string | number)[];
  /**
   * The binary prepares once and serves timed loops over stdin (`bench_run` in bench.h): rounds
   * can then be short, which a loaded machine interrupts less. Default false.
   */
  persistent?: boolean;
}

/** One row of the table: the same operation done by tsbpf and by C, compared as a ratio. */
export interface BenchRow {
  /** What the row measures, e.g. "hash lookup (10k entries)". */
  name: string;
  /** What one unit is, for the table ("op", "call", "element"…). Default "op". */
  unit?: string;
  /** Work per measurement, passed to both sides. */
  iterations: number;
  /** The ratio tsbpf ÷ C that the row must stay at or under (1.10 = at most 10% slower). */
  target: number;
  /** Prepare the TypeScript side (untimed). */
  setup(): BenchFixture | Promise<BenchFixture>;
  /** The C program that does the same work with direct syscalls. */
  c: CCounterpart;
  /** Why the target is what it is, when it is not a plain "as fast as C" (shown under the table). */
  note?: string;
}

/** What a suite file exports. */
export interface BenchSuite {
  /** Suite name, shown as a heading. */
  name: string;
  rows: BenchRow[];
}

/** One measured row. */
export interface RowResult {
  suite: string;
  name: string;
  unit: string;
  /** Best round of the TypeScript side, ns per unit. */
  tsbpfNsPerOp: number;
  /** Best round of the C side, ns per unit. */
  cNsPerOp: number;
  /** Medians of the rounds, for judging the noise. */
  tsbpfMedianNs: number;
  cMedianNs: number;
  ratio: number;
  target: number;
  met: boolean;
  rounds: number;
  note?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Build every `benchmarks/c/*.c` into `benchmarks/build/` with gcc, when the binary is older
 * than its source or `bench.h`. A first line `// bench-ldflags: -lbpf` adds link flags.
 */
export function buildC(): void {
  mkdirSync(BUILD_DIR, { recursive: true });
  const header = join(C_DIR, "bench.h");
  const headerTime = existsSync(header) ? statSync(header).mtimeMs : 0;
  for (const file of readdirSync(C_DIR)) {
    if (!file.endsWith(".c")) continue;
    const src = join(C_DIR, file);
    const out = join(BUILD_DIR, basename(file, ".c"));
    if (existsSync(out) && statSync(out).mtimeMs > Math.max(statSync(src).mtimeMs, headerTime)) continue;
    const first = readFileSync(src, "utf8").split("\n", 1)[0];
    const ld = /^\/\/ bench-ldflags:(.*)$/.exec(first)?.[1].trim().split(/\s+/).filter(Boolean) ?? [];
    execFileSync("gcc", ["-O2", "-Wall", "-o", out, src, ...ld], { stdio: "inherit" });
  }
}

/** Run the C side once; returns ns per unit. */
function runC(c: CCounterpart, iterations: number, cpu: number | undefined): number {
  const bin = join(BUILD_DIR, c.binary);
  const args = [c.case, String(iterations), ...(c.args ?? []).map(String)];
  const out = cpu === undefined
    ? execFileSync(bin, args, { encoding: "utf8" })
    : execFileSync("taskset", ["-c", String(cpu), bin, ...args], { encoding: "utf8" });
  const line = out.trim().split("\n").pop() ?? "";
  const r = JSON.parse(line) as { ns: number; units: number };
  if (!(r.units > 0)) throw new Error(`${c.binary} ${c.case}: no units reported (${line})`);
  return r.ns / r.units;
}

/** A persistent C counterpart: one process per row, one timed loop per request. */
class CServer {
  readonly #child: ChildProcessWithoutNullStreams;
  #buffer = "";
  #waiting: ((line: string) => void)[] = [];
  #lines: string[] = [];
  #exited: string | undefined;

  constructor(c: CCounterpart, cpu: number | undefined) {
    const bin = join(BUILD_DIR, c.binary);
    const args = [c.case, "serve", ...(c.args ?? []).map(String)];
    this.#child = cpu === undefined ? spawn(bin, args) : spawn("taskset", ["-c", String(cpu), bin, ...args]);
    this.#child.stderr.on("data", (d: Buffer) => process.stderr.write(d));
    this.#child.stdout.on("data", (d: Buffer) => {
      this.#buffer += d.toString("utf8");
      let nl: number;
      while ((nl = this.#buffer.indexOf("\n")) >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        const w = this.#waiting.shift();
        if (w) w(line);
        else this.#lines.push(line);
      }
    });
    this.#child.on("exit", (code) => {
      this.#exited = `${c.binary} ${c.case} exited with ${code}`;
      for (const w of this.#waiting.splice(0)) w("");
    });
  }

  #line(): Promise<string> {
    const l = this.#lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.#exited) return Promise.reject(new Error(this.#exited));
    return new Promise((resolve, reject) =>
      this.#waiting.push((line) => (line === "" && this.#exited ? reject(new Error(this.#exited)) : resolve(line))),
    );
  }

  async ready(): Promise<void> {
    const l = await this.#line();
    if (l.trim() !== "ready") throw new Error(`expected "ready" from the C side, got ${JSON.stringify(l)}`);
  }

  /** One timed loop of `iterations`; returns ns per unit. */
  async run(iterations: number): Promise<number> {
    this.#child.stdin.write(`${iterations}\n`);
    const line = await this.#line();
    const r = JSON.parse(line) as { ns: number; units: number };
    if (!(r.units > 0)) throw new Error(`no units reported (${line})`);
    return r.ns / r.units;
  }

  close(): void {
    this.#child.stdin.end();
    this.#child.kill();
  }
}

/** Run the TS side once; returns ns per unit. */
function runTs(fixture: BenchFixture, iterations: number): number {
  const t0 = process.hrtime.bigint();
  const r = fixture.run(iterations);
  const elapsed = Number(process.hrtime.bigint() - t0);
  const { units, ns } = typeof r === "number" ? { units: r, ns: elapsed } : r;
  if (!(units > 0)) throw new Error("the TypeScript side reported no units");
  return ns / units;
}

/** Options of measureRow. */
export interface MeasureOptions {
  /** Alternating rounds per side; the best round of each side is compared. */
  rounds: number;
  /** CPU to pin the C process to (the harness pins itself to the same one). */
  cpu?: number;
  /** Scale every row's iterations (0.1 for a quick run). */
  scale: number;
}

/**
 * Measure one row: set up the TS side, warm it up, then alternate C and TS rounds so both see
 * the same machine state, and compare the best round of each side. Other processes only ever
 * add time to a round, so on a shared machine the best round is the steadiest estimate of what
 * the code itself costs; the medians are kept beside it to show the noise.
 */
export async function measureRow(suite: string, row: BenchRow, options: MeasureOptions): Promise<RowResult> {
  const iterations = Math.max(1, Math.round(row.iterations * options.scale));
  const fixture = await row.setup();
  const server = row.c.persistent ? new CServer(row.c, options.cpu) : undefined;
  try {
    const warmUp = Math.max(1, Math.round(iterations / 10));
    fixture.run(warmUp); // warm up (JIT, caches)
    if (server) {
      await server.ready();
      await server.run(warmUp);
    }
    const ts: number[] = [];
    const c: number[] = [];
    for (let i = 0; i < options.rounds; i++) {
      c.push(server ? await server.run(iterations) : runC(row.c, iterations, options.cpu));
      ts.push(runTs(fixture, iterations));
    }
    const tsbpfNsPerOp = Math.min(...ts);
    const cNsPerOp = Math.min(...c);
    const ratio = tsbpfNsPerOp / cNsPerOp;
    return {
      suite,
      name: row.name,
      unit: row.unit ?? "op",
      tsbpfNsPerOp,
      cNsPerOp,
      tsbpfMedianNs: median(ts),
      cMedianNs: median(c),
      ratio,
      target: row.target,
      met: ratio <= row.target,
      rounds: options.rounds,
      note: row.note,
    };
  } finally {
    server?.close();
    fixture.close?.();
  }
}

function fmtNs(ns: number): string {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(ns < 100 ? 1 : 0)} ns`;
}

/** The results as a plain-text table. */
export function formatTable(results: readonly RowResult[]): string {
  const header = ["suite", "row", "tsbpf", "C", "ratio", "(medians)", "target", "met"];
  const rows = results.map((r) => [
    r.suite,
    r.name,
    `${fmtNs(r.tsbpfNsPerOp)}/${r.unit}`,
    `${fmtNs(r.cNsPerOp)}/${r.unit}`,
    `${r.ratio.toFixed(3)}×`,
    `(${(r.tsbpfMedianNs / r.cMedianNs).toFixed(3)}×)`,
    `≤ ${r.target}×`,
    r.met ? "yes" : `NO (${((r.ratio / r.target - 1) * 100).toFixed(1)}% over)`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
  const notes = results.filter((r) => r.note).map((r) => `* ${r.name}: ${r.note}`);
  return [...out, ...(notes.length ? ["", ...notes] : [])].join("\n");
}
