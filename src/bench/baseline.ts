/**
 * A regression guard for a test suite: benchmark a program and compare its rounds with those
 * recorded in a committed baseline file; it fails when the program got slower than the
 * baseline by more than a threshold, with significance. `update` (or `TSBPF_UPDATE_BASELINE=1`,
 * or `--update-baseline` on the command line) records the rounds instead.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { release } from "node:os";
import { ParseError } from "../errors.js";
import type { Program } from "../program/program.js";
import { benchmark, type BenchmarkOptions, type BenchmarkResult } from "./benchmark.js";
import { ratioOfSamples, type RatioEstimate } from "./stats.js";

/** One recorded benchmark in a baseline file. */
export interface BaselineEntry {
  /** ns per run of each round. */
  rounds: number[];
  repeat: number;
  inputs: number;
  /** Kernel release and date of the recording (informational). */
  kernel: string;
  date: string;
}

/** A baseline file: `{ "version": 1, "entries": { key: BaselineEntry } }`. */
export interface BaselineFile {
  version: 1;
  entries: Record<string, BaselineEntry>;
}

/** Options of `checkBaseline`: a benchmark's options plus the file and the rule. */
export interface BaselineOptions extends BenchmarkOptions {
  /** The baseline file (JSON, committed beside the tests). */
  file: string;
  /** The entry's name in the file (default: the program's name). */
  key?: string;
  /** Allowed slow-down before failing: 0.05 = 5% (default 0.05). */
  threshold?: number;
  /**
   * Record this run as the baseline instead of comparing. Default: true when the environment
   * has `TSBPF_UPDATE_BASELINE=1` or the command line has `--update-baseline`.
   */
  update?: boolean;
}

/** What `checkBaseline` found. */
export interface BaselineCheck {
  readonly key: string;
  /** What happened: compared, recorded (update, or no entry yet). */
  readonly outcome: "passed" | "regressed" | "recorded";
  readonly current: BenchmarkResult;
  /** Current over baseline, with interval and verdict (absent when recorded). */
  readonly ratio?: RatioEstimate;
  /** One line for a test report. */
  readonly message: string;
}

/** Read a baseline file; a missing file is empty. Throws ParseError for a malformed one. */
export function readBaseline(file: string): BaselineFile {
  if (!existsSync(file)) return { version: 1, entries: {} };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ParseError(`baseline ${file}: not JSON (${(e as Error).message})`, { cause: e });
  }
  const f = json as Partial<BaselineFile>;
  if (typeof f !== "object" || f === null || f.version !== 1 || typeof f.entries !== "object" || f.entries === null) {
    throw new ParseError(`baseline ${file}: expected {"version": 1, "entries": {...}}`);
  }
  for (const [key, e] of Object.entries(f.entries)) {
    if (!Array.isArray(e?.rounds) || e.rounds.length === 0 || !e.rounds.every((x) => typeof x === "number" && x >= 0)) {
      throw new ParseError(`baseline ${file}: entry ${JSON.stringify(key)} has no rounds (an array of ns per run)`);
    }
  }
  return f as BaselineFile;
}

function wantsUpdate(): boolean {
  return process.env.TSBPF_UPDATE_BASELINE === "1" || process.argv.includes("--update-baseline");
}

/**
 * Benchmark `program` and compare it with its entry in `options.file`: the ratio of today's
 * rounds to the baseline's (Hodges–Lehmann, with a Mann–Whitney interval at `level`). It has
 * regressed when the whole interval is above 1 and the ratio above `1 + threshold`. With no
 * entry yet, or with `update`, the rounds are written to the file (atomically) instead.
 * Returns the check; use `expectNoRegression` to throw on a regression. Throws what
 * `benchmark` throws, ParseError for a malformed baseline file.
 */
export async function checkBaseline(program: Program, options: BaselineOptions): Promise<BaselineCheck> {
  const { file, key: keyOption, threshold = 0.05, update = wantsUpdate(), ...benchOptions } = options;
  if (typeof file !== "string" || file === "") throw new TypeError("checkBaseline: file must be a path");
  if (!(threshold >= 0)) throw new RangeError(`checkBaseline: threshold must be ≥ 0, got ${threshold}`);
  const key = keyOption ?? program.name;
  if (!key) throw new TypeError("checkBaseline: the program has no name: give a key");
  const baseline = readBaseline(file);
  const entry = baseline.entries[key];
  const current = await benchmark(program, { ...benchOptions, ...(entry && !update && benchOptions.repeat === undefined ? { repeat: entry.repeat } : {}) });
  if (update || entry === undefined) {
    baseline.entries[key] = { rounds: [...current.rounds], repeat: current.repeat, inputs: current.inputs, kernel: release(), date: new Date().toISOString() };
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(baseline, null, 2)}\n`);
    renameSync(tmp, file);
    return { key, outcome: "recorded", current, message: `${key}: recorded ${current.summary.median.toFixed(1)} ns/run as the baseline in ${file}` };
  }
  const ratio = ratioOfSamples(entry.rounds, [...current.rounds], options.level ?? 0.95, 0);
  const regressed = ratio.ci.low > 1 && ratio.ratio > 1 + threshold;
  const pct = (x: number) => `${x >= 1 ? "+" : ""}${((x - 1) * 100).toFixed(1)}%`;
  const message = `${key}: ${pct(ratio.ratio)} against the baseline (interval ${pct(ratio.ci.low)} … ${pct(ratio.ci.high)} at ${(ratio.ci.level * 100).toFixed(0)}%), threshold +${(threshold * 100).toFixed(1)}%` +
    (regressed ? ": slower. If this is intended, run with --update-baseline (or TSBPF_UPDATE_BASELINE=1)" : "");
  return { key, outcome: regressed ? "regressed" : "passed", current, ratio, message };
}

/**
 * `checkBaseline`, throwing an `AssertionError` (any test runner reports it as a failure) when
 * the program regressed. Returns the check otherwise.
 */
export async function expectNoRegression(program: Program, options: BaselineOptions): Promise<BaselineCheck> {
  const check = await checkBaseline(program, options);
  if (check.outcome === "regressed") {
    // node:assert is loaded here, not at the top: every import of tsbpf would pay for it. With
    // require, not import(): the package's loader compiles the library with vm.Script, where
    // import() needs --experimental-vm-modules on Node 20 (scripts/load-core.ts).
    const { AssertionError } = createRequire(import.meta.url)("node:assert") as typeof import("node:assert");
    throw new AssertionError({ message: check.message, actual: check.ratio?.ratio, expected: 1 + (options.threshold ?? 0.05), operator: "<=" });
  }
  return check;
}
