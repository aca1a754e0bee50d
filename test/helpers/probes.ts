/**
 * What this machine refuses, found out at run time through tsbpf's own feature probes
 * (src/features). The sandbox's policy moves (arena maps and iter/bpf_map_elem programs were
 * refused from one day to the next), so no test trusts a list: a kernel test of such a feature
 * first calls `machineRefuses(feature)`, which asks the probe (the smallest object of that kind,
 * cached per process). When the machine allows it, the full test runs; when the probe says
 * refused or unsupported with the error a sandbox or a missing config gives, the test asserts
 * that its own operation gets exactly that refusal, and the refusal is recorded: global-setup
 * prints every probed refusal of the run in one summary at the end. Any other answer fails.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { notSupported, probeArena, probeHardwarePerfEvents, probeTracingAttach, type ProbeResult } from "../../src/features/index.js";

/** How the machine refused a probe: the error's code and message, and what it means. */
export interface Refusal {
  /** A key of PROBES, or the name a test probing on its own gives (recordRefusal). */
  readonly feature: string;
  readonly code: string;
  readonly message: string;
  /** Why a machine refuses this, in a sentence, for the summary and test names. */
  readonly reason: string;
}

interface FeatureProbe {
  /** The tsbpf probe of the smallest use of the feature (cached per process). */
  readonly probe: () => ProbeResult;
  /** The errno names that mean "this machine refuses it" (anything else is a failure). */
  readonly refusedWith: readonly string[];
  readonly reason: string;
}

const PROBES = {
  arenaMaps: {
    probe: probeArena,
    refusedWith: ["EPERM"],
    reason: "BPF_MAP_CREATE of an arena map is refused with EPERM by this machine's sandbox (the kernel has arena maps)",
  },
  iterMapElem: {
    probe: () => probeTracingAttach("trace_iter", "bpf_map_elem"),
    refusedWith: ["EPERM"],
    reason: "BPF_PROG_LOAD of an iter/bpf_map_elem program is refused with EPERM by this machine's sandbox",
  },
  trampolines: {
    probe: () => probeTracingAttach("trace_fentry", "do_unlinkat"),
    refusedWith: ["EPERM"],
    reason: "fentry/fexit/fmod_ret/lsm/freplace are refused at BPF_PROG_LOAD with EPERM and an empty log by this machine's sandbox",
  },
  hardwarePerf: {
    probe: probeHardwarePerfEvents,
    refusedWith: ["ENOENT", "EOPNOTSUPP"],
    reason: "this VM exposes no CPU PMU: perf_event_open of a hardware event gives ENOENT",
  },
} satisfies Record<string, FeatureProbe>;

export type ProbedFeature = keyof typeof PROBES;

const cache = new Map<ProbedFeature, Refusal | undefined>();

function codeOf(e: unknown): string | undefined {
  const direct = (e as { code?: unknown } | undefined)?.code;
  if (typeof direct === "string") return direct;
  const cause = (e as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof cause === "string" ? cause : undefined;
}

/**
 * Undefined when this machine allows `feature`; the refusal when it refuses it with one of the
 * probe's refusal codes (recorded for the run's summary). Any other error is thrown: a probe
 * that fails for another reason is a bug to see, not a limit.
 */
export function machineRefuses(feature: ProbedFeature): Refusal | undefined {
  if (cache.has(feature)) return cache.get(feature);
  const p: FeatureProbe = PROBES[feature];
  const r = p.probe();
  let refusal: Refusal | undefined;
  if (r.status !== "supported") {
    if (r.errno === undefined || !p.refusedWith.includes(r.errno)) {
      throw new Error(`probe of ${feature}: ${r.status} with ${r.errno ?? "no errno"} (${r.detail ?? "no detail"}), not one of ${p.refusedWith.join("/")}`);
    }
    refusal = { feature, code: r.errno, message: notSupported(r).message, reason: p.reason };
    record(refusal);
  }
  cache.set(feature, refusal);
  return refusal;
}

/** The code of the error `fn` throws (directly or as the cause), for comparing with a refusal. */
export function refusalCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return codeOf(e);
  }
  return undefined;
}

/** The env var global-setup sets to the folder where each test process records its refusals. */
export const REFUSALS_DIR_ENV = "TSBPF_PROBED_REFUSALS_DIR";

/**
 * Record a refusal that a test probed itself (when the smallest attempt needs the test's own
 * fixtures, as a netkit pair does), so the run's summary names it too.
 */
export function recordRefusal(r: Refusal): void {
  record(r);
}

function record(r: Refusal): void {
  const dir = process.env[REFUSALS_DIR_ENV];
  if (dir === undefined || !existsSync(dir)) return;
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(r)}\n`);
}

/** Every refusal recorded under `dir`, one per feature, for the summary. */
export function recordedRefusals(files: readonly string[]): Refusal[] {
  const byFeature = new Map<string, Refusal>();
  for (const f of files) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      if (line === "") continue;
      const r = JSON.parse(line) as Refusal;
      byFeature.set(r.feature, r);
    }
  }
  return [...byFeature.values()].sort((a, b) => a.feature.localeCompare(b.feature));
}

/**
 * The code of the machine's refusal of `feature`, for a test that can only assert that refusal
 * (nothing of the feature runs here). When the machine allows it, this throws so the test fails
 * visibly and asks for the full test, instead of passing on a stale assumption.
 */
export function refusalCode(feature: ProbedFeature): string {
  const r = machineRefuses(feature);
  if (!r) throw new Error(`this machine now allows ${feature} (${PROBES[feature].reason} no longer holds): this test only asserts the refusal; write the full test`);
  return r.code;
}

/** The reason a machine refuses `feature`, for a test's name. */
export function machineRefusalReason(feature: ProbedFeature): string {
  return PROBES[feature].reason;
}
