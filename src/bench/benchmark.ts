/**
 * `benchmark()` and `compare()`: rounds of BPF_PROG_TEST_RUN with `repeat`, on a pinned CPU,
 * after warm-up rounds; each round gives the kernel's ns per run (a mix of inputs is weighted
 * by how often each ran), and the rounds are summarized with robust statistics. `compare()`
 * interleaves the rounds of two programs in random order per pair and gives B's time over A's
 * with a confidence interval and a verdict.
 */
import { checkOptions, NotSupportedError } from "../errors.js";
import type { Program } from "../program/program.js";
import type { PreparedRun } from "../program/test-run.js";
import { currentCpu, setThreadAffinity, threadAffinity } from "../sys/sched.js";
import { buildPacket } from "./packet.js";
import { ratioOfPairs, seededRandom, summarize, type RatioEstimate, type Summary } from "./stats.js";

/** One input of a benchmark: packet data and/or a context (`ctx_in`). */
export interface BenchInput {
  data?: Uint8Array;
  ctx?: Uint8Array;
}

/** Options of `benchmark` and `compare`. Every field is optional. */
export interface BenchmarkOptions {
  /**
   * The inputs each round runs, every one `repeat` times: one packet, or many (a pcap
   * replayed). Default: one 64-byte IPv4 UDP frame for the packet types, nothing otherwise.
   */
  inputs?: readonly BenchInput[];
  /** Measured rounds (default 31; at least 6 for a 95% interval of the median). */
  rounds?: number;
  /** Rounds run first and thrown away: JIT'd code, caches and branch predictors warm up (default 3). */
  warmup?: number;
  /**
   * Runs per BPF_PROG_TEST_RUN call (the kernel times them together and reports the mean).
   * Default: calibrated so one call takes about `targetCallNs`.
   */
  repeat?: number;
  /** What a calibrated `repeat` aims at, in ns per call (default 1 ms). */
  targetCallNs?: number;
  /**
   * CPU to pin the calling thread to while measuring (the packet types run on the caller's
   * CPU), or `false` not to pin. Default: the CPU the thread is on when the benchmark starts.
   * The thread's affinity is restored afterwards.
   */
  cpu?: number | false;
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /** `compare()` only: the smallest relative difference called faster/slower (default 0.01). */
  minDifference?: number;
  /** `compare()` only: seed of the order of each A/B pair (default: drawn at random, and reported). */
  seed?: number;
  /** Called after each measured round (progress). */
  onRound?: (round: number, rounds: number, nsPerRun: number) => void;
  /** Stops the benchmark between rounds (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** What `benchmark()` measured. Times are ns per run of the program. */
export interface BenchmarkResult {
  /** The program's name as the kernel keeps it. */
  readonly program: string;
  /** ns per run in each measured round, in order. */
  readonly rounds: readonly number[];
  readonly summary: Summary;
  /** Runs per call, and calls per round (one per input). */
  readonly repeat: number;
  readonly inputs: number;
  /** The CPU the thread was pinned to, or undefined. */
  readonly cpu: number | undefined;
  /** The program's return value on each input in the last round. */
  readonly retvals: readonly number[];
}

/** What `compare()` found: both programs' rounds and B's time over A's. */
export interface ComparisonResult {
  readonly a: BenchmarkResult;
  readonly b: BenchmarkResult;
  /** B's time over A's, its interval and verdict ("slower" means B is slower than A). */
  readonly ratio: RatioEstimate;
  /** Seed of the pair order, to replay the comparison. */
  readonly seed: number;
}

/**
 * Program types whose BPF_PROG_TEST_RUN runs `repeat` times and reports the mean duration.
 * `packet` ones take an Ethernet frame as data.
 */
const TIMED_TYPES: Readonly<Record<string, { packet: boolean }>> = {
  socket_filter: { packet: true },
  sched_cls: { packet: true },
  sched_act: { packet: true },
  xdp: { packet: true },
  cgroup_skb: { packet: true },
  lwt_in: { packet: true },
  lwt_out: { packet: true },
  lwt_xmit: { packet: true },
  lwt_seg6local: { packet: true },
  flow_dissector: { packet: true },
  sk_lookup: { packet: false },
  netfilter: { packet: true },
};

/** Types the kernel test-runs once, without timing (raw_tracepoint is the one that takes BPF_F_TEST_RUN_ON_CPU). */
const UNTIMED_TYPES = new Set(["raw_tracepoint", "raw_tracepoint_writable", "tracing", "struct_ops", "syscall"]);

const OPTION_KEYS = new Set(["inputs", "rounds", "warmup", "repeat", "targetCallNs", "cpu", "level", "minDifference", "seed", "onRound", "signal"]);

/**
 * Throw the NotSupportedError that says why `type` cannot be benchmarked by test runs and
 * what measures it instead, or return whether its inputs are packets.
 */
export function checkBenchmarkable(type: string | number, what: string): { packet: boolean } {
  const timed = typeof type === "string" ? TIMED_TYPES[type] : undefined;
  if (timed) return timed;
  const why = typeof type === "string" && UNTIMED_TYPES.has(type)
    ? `BPF_PROG_TEST_RUN runs ${type} programs once and does not time them (no repeat, no duration; BPF_F_TEST_RUN_ON_CPU only places the run)`
    : `${typeof type === "string" ? type : `type ${type}`} programs have no BPF_PROG_TEST_RUN`;
  throw new NotSupportedError(`benchmarking ${what} by test runs`, {
    detail: `${why}. Measure it attached, under real load, with liveStats() (BPF_ENABLE_STATS run_time_ns/run_cnt; \`tsbpf bench --live --id N\`)`,
  });
}

function int(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`benchmark: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

interface Resolved {
  rounds: number;
  warmup: number;
  repeat: number | undefined;
  targetCallNs: number;
  cpu: number | false;
  level: number;
  minDifference: number;
  seed: number;
}

function resolveOptions(options: BenchmarkOptions): Resolved {
  checkOptions("benchmark", options, OPTION_KEYS);
  if (options === undefined || options === null) throw new TypeError("benchmark: options must be an object");
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new RangeError(`benchmark: level must be in (0, 1), got ${level}`);
  const minDifference = options.minDifference ?? 0.01;
  if (!(minDifference >= 0 && minDifference < 1)) throw new RangeError(`benchmark: minDifference must be in [0, 1), got ${minDifference}`);
  const targetCallNs = options.targetCallNs ?? 1_000_000;
  if (!(targetCallNs > 0)) throw new RangeError("benchmark: targetCallNs must be positive");
  const cpu = options.cpu ?? currentCpu();
  if (cpu !== false) int(cpu, "cpu", 0, 8191);
  return {
    rounds: int(options.rounds ?? 31, "rounds", 1, 1_000_000),
    warmup: int(options.warmup ?? 3, "warmup", 0, 1_000_000),
    repeat: options.repeat === undefined ? undefined : int(options.repeat, "repeat", 1, 0xffffffff),
    targetCallNs,
    cpu,
    level,
    minDifference,
    seed: options.seed === undefined ? Math.floor(Math.random() * 0x7fffffff) : int(options.seed, "seed", 0, 0xffffffff),
  };
}

/** A program's prepared test runs, one per input, and a round over them all. */
class Subject {
  readonly program: Program;
  readonly #inputs: readonly BenchInput[];
  #runs: PreparedRun[] = [];
  #repeat = 1;

  constructor(program: Program, inputs: readonly BenchInput[] | undefined) {
    this.program = program;
    const what = program.name ? `program "${program.name}"` : "program";
    const { packet } = checkBenchmarkable(program.type, what);
    const list = inputs ?? (packet ? [{ data: buildPacket() }] : [{}]);
    if (!Array.isArray(list) || list.length === 0) throw new RangeError("benchmark: inputs must be a non-empty array");
    for (const [i, input] of list.entries()) {
      if (typeof input !== "object" || input === null) throw new TypeError(`benchmark: inputs[${i}] must be an object`);
      checkOptions(`benchmark: inputs[${i}]`, input, ["data", "ctx"], "field");
    }
    this.#inputs = list;
  }

  /** Prepare every input with `repeat` runs per call. */
  prepare(repeat: number): void {
    this.#repeat = repeat;
    this.#runs = this.#inputs.map((input) =>
      this.program.prepareRun({ ...input, repeat, dataOut: false, ctxOut: false }),
    );
  }

  get repeat(): number {
    return this.#repeat;
  }

  get inputCount(): number {
    return this.#inputs.length;
  }

  /** One round: every input once; the mean ns per run over them. */
  round(): number {
    let total = 0;
    for (const run of this.#runs) {
      run.run();
      total += run.durationNs;
    }
    return total / this.#runs.length;
  }

  retvals(): number[] {
    return this.#runs.map((r) => r.retval);
  }

  /** A `repeat` that makes one call take about `targetNs`, from a short probe. */
  calibrate(targetNs: number): number {
    this.prepare(64);
    this.round();
    const perRun = Math.max(1, this.round());
    return Math.max(1, Math.min(1_000_000, Math.round(targetNs / perRun)));
  }
}

/** Pin the calling thread for the duration of `fn`, then restore its affinity. */
async function pinned<T>(cpu: number | false, fn: () => Promise<T>): Promise<T> {
  if (cpu === false) return fn();
  const before = threadAffinity();
  setThreadAffinity([cpu]);
  try {
    return await fn();
  } finally {
    setThreadAffinity(before);
  }
}

/** Let the event loop run (timers, signals, an abort) between rounds. */
function yieldToLoop(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    setImmediate(() => {
      if (signal?.aborted) reject(signal.reason);
      else resolve();
    });
  });
}

function result(subject: Subject, rounds: number[], level: number, cpu: number | false): BenchmarkResult {
  return {
    program: subject.program.name,
    rounds,
    summary: summarize(rounds, level),
    repeat: subject.repeat,
    inputs: subject.inputCount,
    cpu: cpu === false ? undefined : cpu,
    retvals: subject.retvals(),
  };
}

/**
 * Benchmark `program` with BPF_PROG_TEST_RUN: `warmup` rounds, then `rounds` measured rounds,
 * each running every input `repeat` times, on a pinned CPU. Min kernel 4.12 (ctx 5.2).
 * Throws NotSupportedError for a program type the kernel cannot time by test runs (it names
 * `liveStats()` instead), TypeError/RangeError for bad options, BpfError when a run fails
 * (EINVAL for an input the type refuses). The program stays open and owned by the caller.
 */
export async function benchmark(program: Program, options: BenchmarkOptions = {}): Promise<BenchmarkResult> {
  const o = resolveOptions(options);
  const subject = new Subject(program, options.inputs);
  return pinned(o.cpu, async () => {
    subject.prepare(o.repeat ?? subject.calibrate(o.targetCallNs));
    for (let i = 0; i < o.warmup; i++) subject.round();
    const rounds: number[] = [];
    for (let i = 0; i < o.rounds; i++) {
      await yieldToLoop(options.signal);
      const ns = subject.round();
      rounds.push(ns);
      options.onRound?.(i + 1, o.rounds, ns);
    }
    return result(subject, rounds, o.level, o.cpu);
  });
}

/**
 * Compare program `b` against program `a` (e.g. the same program from two builds): warm-up,
 * then `rounds` pairs of rounds, A and B back to back in an order drawn at random for each pair
 * (seeded), with the same `repeat` and inputs. The ratio is B's time over A's (the median of
 * the per-pair ratios) with its order-statistic interval at `level`, and the verdict says
 * whether B is faster, slower, or not significantly different. Throws as `benchmark` does.
 */
export async function compare(a: Program, b: Program, options: BenchmarkOptions = {}): Promise<ComparisonResult> {
  const o = resolveOptions(options);
  const sa = new Subject(a, options.inputs);
  const sb = new Subject(b, options.inputs);
  return pinned(o.cpu, async () => {
    const repeat = o.repeat ?? sa.calibrate(o.targetCallNs);
    sa.prepare(repeat);
    sb.prepare(repeat);
    for (let i = 0; i < o.warmup; i++) {
      sa.round();
      sb.round();
    }
    const random = seededRandom(o.seed);
    const ra: number[] = [];
    const rb: number[] = [];
    for (let i = 0; i < o.rounds; i++) {
      await yieldToLoop(options.signal);
      if (random() < 0.5) {
        ra.push(sa.round());
        rb.push(sb.round());
      } else {
        rb.push(sb.round());
        ra.push(sa.round());
      }
      options.onRound?.(i + 1, o.rounds, rb[i] / ra[i]);
    }
    return {
      a: result(sa, ra, o.level, o.cpu),
      b: result(sb, rb, o.level, o.cpu),
      ratio: ratioOfPairs(ra, rb, o.level, o.minDifference),
      seed: o.seed,
    };
  });
}
