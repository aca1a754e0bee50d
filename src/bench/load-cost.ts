/**
 * The cost of loading each program of an object: what the verifier did (from its stats log,
 * log level 4 = BPF_LOG_STATS, and `verified_insns` from the program's info) and the sizes of
 * the translated and JIT-compiled code.
 */
import { Collection } from "../collection/collection.js";
import type { CollectionSpec } from "../elf/collection-spec.js";
import { countSlots } from "../asm/encoding.js";

/** BPF_LOG_STATS: the verifier's summary lines only. */
export const LOG_LEVEL_STATS = 4;

/** What the verifier's stats log says about one load. Fields it did not print are undefined. */
export interface VerifierStats {
  /** `processed N insns`: instructions the verifier walked (with revisits). */
  processedInsns?: number;
  /** `max_states_per_insn`, `total_states`, `peak_states`, `mark_read`. */
  maxStatesPerInsn?: number;
  totalStates?: number;
  peakStates?: number;
  markRead?: number;
  /** `verification time N usec`. */
  verificationTimeUs?: number;
  /** `stack depth A+B…`: per subprogram. */
  stackDepth?: number[];
}

/**
 * Read the summary lines of a verifier log (any level that includes BPF_LOG_STATS, or a failed
 * load's log): `processed …`, `verification time …`, `stack depth …`. Lines it does not know
 * are ignored. Pure.
 */
export function parseVerifierStats(log: string): VerifierStats {
  const out: VerifierStats = {};
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(log);
    return m ? Number(m[1]) : undefined;
  };
  const processed = /processed (\d+) insns \(limit \d+\) max_states_per_insn (\d+) total_states (\d+) peak_states (\d+) mark_read (\d+)/.exec(log);
  if (processed) {
    out.processedInsns = Number(processed[1]);
    out.maxStatesPerInsn = Number(processed[2]);
    out.totalStates = Number(processed[3]);
    out.peakStates = Number(processed[4]);
    out.markRead = Number(processed[5]);
  } else {
    const insns = num(/processed (\d+) insns/);
    if (insns !== undefined) out.processedInsns = insns;
  }
  const time = num(/verification time (\d+) usec/);
  if (time !== undefined) out.verificationTimeUs = time;
  const stack = /stack depth ([\d+]+)/.exec(log);
  if (stack) out.stackDepth = stack[1].split("+").filter((s) => s !== "").map(Number);
  return out;
}

/** The cost of loading one program. */
export interface ProgramLoadCost extends VerifierStats {
  /** The program's name in the object. */
  readonly name: string;
  readonly type: string | number;
  /** Instructions in the object (8-byte slots of the spec). */
  readonly instructions: number;
  /** `verified_insns` from the program's info (Linux 5.16). */
  readonly verifiedInsns: number;
  /** Bytes after the verifier's rewrites (`xlated_prog_len`) and of JIT'd code (`jited_prog_len`). */
  readonly translatedBytes: number;
  readonly jitedBytes: number;
}

/** Options of `loadCost`. */
export interface LoadCostOptions {
  /** Programs to load (default: those the object loads by default). */
  programs?: readonly string[];
}

/**
 * Load every (or the named) program of `spec` with the verifier's stats log and report what
 * each cost. Everything loaded is closed before this returns. Min kernel 5.2 for the stats
 * log (verified_insns 5.16). Throws what `Collection.load` throws (VerifierError, BpfError).
 */
export function loadCost(spec: CollectionSpec, options: LoadCostOptions = {}): ProgramLoadCost[] {
  const names = options.programs ?? spec.autoloadPrograms;
  using coll = Collection.load(spec, { programs: [...names], logLevel: LOG_LEVEL_STATS });
  return names.map((name) => {
    const program = coll.programs[name];
    if (program === undefined) throw new TypeError(`loadCost: the object has no program ${JSON.stringify(name)}`);
    const info = program.info();
    const source = spec.programs[name];
    const slots = source ? countSlots(source.instructions) : 0;
    return {
      name,
      type: program.type,
      instructions: slots,
      verifiedInsns: info.verifiedInstructions,
      translatedBytes: info.translatedSize,
      jitedBytes: info.jitedSize,
      ...parseVerifierStats(program.verifierLog ?? ""),
    };
  });
}
