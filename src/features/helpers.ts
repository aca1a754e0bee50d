/**
 * Helper probes: which helpers a program type may call. Each probe loads `call <id>; r0 = 0;
 * exit` as that type and reads the verifier's answer at the call: "invalid func" (the kernel has
 * no such helper), "unknown func" (before 5.x) or "program of this type cannot use helper"
 * (6.x) mean no; any other verdict means the verifier accepted the call itself.
 */
import { call, exit, mov64 } from "../asm/builder.js";
import { HELPER_NAMES, helperId } from "../asm/helpers.js";
import { checkOptions } from "../errors.js";
import type { ProgramTypeName } from "../spec/program-type.js";
import { tryLoad } from "./calls.js";
import { HELPER_MIN_KERNEL } from "./helper-versions.js";
import { ProbeCache, refused, supported, unsupported, type Outcome, type ProbeResult } from "./probe.js";
import { probeProgramBase, probeProgramType } from "./program-types.js";

/** Verifier messages that mean "this type may not call this helper", oldest wording first. */
const NO_HELPER = ["invalid func ", "unknown func ", "program of this type cannot use helper "];

/**
 * Program types whose helpers cannot be probed by a plain load: they need a BTF attach target
 * (tracing, lsm, ext) or a struct_ops map. bpftool lists none for them either.
 */
export const HELPER_PROBE_UNSUPPORTED_TYPES: ReadonlySet<ProgramTypeName> = new Set<ProgramTypeName>(["tracing", "lsm", "ext", "struct_ops"]);

/**
 * Helpers that write a warning to the kernel log whenever a program using them loads; bpftool
 * leaves them out unless asked (`full`), and so does availableHelpers().
 */
export const NOISY_HELPERS: ReadonlySet<string> = new Set(["trace_printk", "probe_write_user", "trace_vprintk"]);

function telling(log: string): string | undefined {
  const lines = log.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("processed "));
  return lines[lines.length - 1];
}

function runHelperProbe(type: ProgramTypeName, id: number): Outcome {
  const t = probeProgramType(type);
  if (t.status !== "supported") {
    const why = `program type ${type} is ${t.status === "refused" ? "refused" : "not supported"}`;
    return t.status === "refused" ? refused(1, why) : unsupported(undefined, why);
  }
  const r = tryLoad({ ...probeProgramBase(type), insns: [call(id), mov64("r0", 0), exit()] }, true);
  if (r.errno === 0) return supported();
  const line = r.log.split("\n").find((l) => NO_HELPER.some((m) => l.includes(m)));
  if (line) return unsupported(r.errno, line.trim());
  if (r.errno === 1 && r.log.trim() === "") return refused(1, "EPERM from BPF_PROG_LOAD with an empty verifier log");
  // The verifier accepted the call and refused something later (arguments, return value).
  return supported(telling(r.log));
}

const cache = new ProbeCache<`${ProgramTypeName}/${number}`>((key) => {
  const [type, n] = key.split("/") as [ProgramTypeName, string];
  const id = Number(n);
  return {
    feature: `helper bpf_${HELPER_NAMES[id]} in ${type} programs`,
    minKernel: HELPER_MIN_KERNEL[id],
    outcome: () => runHelperProbe(type, id),
  };
});

/**
 * Whether programs of `type` may call `helper` (a name with or without `bpf_`, or an id).
 * Cached per process. Throws TypeError for an unknown helper, or a type whose helpers cannot be
 * probed by a plain load (HELPER_PROBE_UNSUPPORTED_TYPES). Min kernel: the helper's.
 */
export function probeHelper(type: ProgramTypeName, helper: string | number): ProbeResult {
  const id = typeof helper === "number" ? helper : helperId(helper);
  if (id === undefined || !Number.isInteger(id) || id <= 0 || id >= HELPER_NAMES.length) {
    throw new TypeError(`unknown helper ${JSON.stringify(helper)}`);
  }
  if (HELPER_PROBE_UNSUPPORTED_TYPES.has(type)) {
    throw new TypeError(`helpers of ${type} programs cannot be probed by a plain load (they need a BTF attach target or a struct_ops map)`);
  }
  return cache.get(`${type}/${id}`);
}

/** Options of availableHelpers. */
export interface AvailableHelpersOptions {
  /** Also probe the helpers that warn in the kernel log (NOISY_HELPERS), as `bpftool … full`. Default false. */
  full?: boolean;
}

/**
 * The helpers (names without `bpf_`, in id order) that programs of `type` may call: every
 * helper probed with probeHelper. Empty for a type that is not supported or whose helpers
 * cannot be probed. Cached per process.
 */
export function availableHelpers(type: ProgramTypeName, options: AvailableHelpersOptions = {}): string[] {
  checkOptions("availableHelpers", options, ["full"]);
  if (HELPER_PROBE_UNSUPPORTED_TYPES.has(type)) return [];
  const out: string[] = [];
  for (let id = 1; id < HELPER_NAMES.length; id++) {
    const name = HELPER_NAMES[id];
    if (!options.full && NOISY_HELPERS.has(name)) continue;
    if (probeHelper(type, id).status === "supported") out.push(name);
  }
  return out;
}
