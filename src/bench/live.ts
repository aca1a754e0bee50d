/**
 * The live cost of attached programs: BPF_ENABLE_STATS turns on the kernel's per-program
 * run_time_ns and run_cnt counters, which are sampled at the start and end of a window. The
 * stats fd is closed when the window ends (counting costs a little per run).
 */
import { checkOptions, NotSupportedError } from "../errors.js";
import { Program } from "../program/program.js";

/** What one program did during the window. */
export interface LiveProgramStats {
  readonly id: number;
  readonly name: string;
  readonly type: string | number;
  /** Runs and ns spent in them during the window. */
  readonly runs: bigint;
  readonly runTimeNs: bigint;
  /** ns per run (NaN when it did not run). */
  readonly nsPerRun: number;
  /** Runs per second over the window. */
  readonly runsPerSecond: number;
  /** Runs skipped because the program was already running on that CPU, during the window. */
  readonly recursionMisses: bigint;
}

/** What `liveStats` measured. */
export interface LiveStatsResult {
  /** The window actually sampled, in ns. */
  readonly windowNs: number;
  readonly programs: readonly LiveProgramStats[];
}

/** Options of `liveStats`. */
export interface LiveStatsOptions {
  /** Programs to watch, by id (`bpftool prog` ids). */
  ids?: readonly number[];
  /** Programs to watch, as open `Program`s (e.g. every program of a `Collection`). They stay open. */
  programs?: readonly Program[];
  /** Length of the window in ms (default 1000). */
  durationMs?: number;
  /** Stops the window early: what was counted so far is returned. */
  signal?: AbortSignal;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Count what the given attached programs cost under real traffic for a window: turn on
 * BPF_ENABLE_STATS, read each program's run_time_ns/run_cnt, wait, read them again, and close
 * the stats fd. Programs opened by id are closed afterwards. Min kernel 5.8. Throws RangeError
 * for bad options, BpfError (ENOENT for an unknown id, EPERM without CAP_SYS_ADMIN).
 */
export async function liveStats(options: LiveStatsOptions): Promise<LiveStatsResult> {
  checkOptions("liveStats", options, ["ids", "programs", "durationMs", "signal"]);
  const durationMs = options.durationMs ?? 1000;
  if (!(durationMs >= 0 && Number.isFinite(durationMs))) throw new RangeError(`liveStats: durationMs must be a non-negative number, got ${durationMs}`);
  const opened: Program[] = [];
  try {
    for (const id of options.ids ?? []) opened.push(Program.fromId(id));
    const watched = [...(options.programs ?? []), ...opened];
    if (watched.length === 0) throw new RangeError("liveStats: give ids or programs to watch");
    let stats;
    try {
      stats = Program.enableStats();
    } catch (e) {
      if ((e as { code?: string }).code === "EINVAL") throw new NotSupportedError("BPF_ENABLE_STATS", { minKernel: "5.8", cause: e });
      throw e;
    }
    try {
      const before = watched.map((p) => p.info());
      const t0 = process.hrtime.bigint();
      await sleep(durationMs, options.signal);
      const after = watched.map((p) => p.info());
      const windowNs = Number(process.hrtime.bigint() - t0);
      return {
        windowNs,
        programs: after.map((info, i) => {
          const runs = info.runCount - before[i].runCount;
          const runTimeNs = info.runTimeNs - before[i].runTimeNs;
          return {
            id: info.id,
            name: info.name,
            type: info.type,
            runs,
            runTimeNs,
            nsPerRun: runs > 0n ? Number(runTimeNs) / Number(runs) : Number.NaN,
            runsPerSecond: windowNs > 0 ? (Number(runs) * 1e9) / windowNs : 0,
            recursionMisses: info.recursionMisses - before[i].recursionMisses,
          };
        }),
      };
    } finally {
      stats.close();
    }
  } finally {
    for (const p of opened) p.close();
  }
}
