/**
 * The shape every feature probe shares: a three-way answer (supported, unsupported, refused),
 * a per-process cache, and the errors a caller gets when it needs a feature the kernel lacks.
 *
 * "Refused" is not "unsupported": the kernel knows the feature, but something (missing
 * privilege, a sandbox or an LSM policy) answered EPERM. A loader must not fall back to an
 * older mechanism on a refusal — the older one would be refused too, or do something else.
 */
import { BpfError, errnoName, NotSupportedError } from "../errors.js";
import { refusalReason } from "./system.js";

/** What a probe found. */
export type ProbeStatus = "supported" | "unsupported" | "refused";

/** One probe's answer. Frozen; the same object is returned on every later call. */
export interface ProbeResult {
  /** What was probed, for messages: `"map type ringbuf"`, `"helper bpf_loop for xdp"`. */
  readonly feature: string;
  readonly status: ProbeStatus;
  /** The first mainline kernel with the feature (`"5.8"`). */
  readonly minKernel: string;
  /** Why: the errno and what it means, or the verifier's telling line. */
  readonly detail?: string;
  /** The errno name the kernel answered with, when it refused or did not support it. */
  readonly errno?: string;
}

/**
 * What a probe's body returns: `true` (supported), `false` (unsupported, with why), or a
 * refusal. A body throws (a BpfError) only when the answer is inconclusive; that is not cached.
 */
export type Outcome =
  | { readonly status: "supported"; readonly detail?: string }
  | { readonly status: "unsupported"; readonly detail?: string; readonly errno?: number }
  | { readonly status: "refused"; readonly detail?: string; readonly errno: number };

/** A supported outcome. */
export function supported(detail?: string): Outcome {
  return detail === undefined ? { status: "supported" } : { status: "supported", detail };
}

/** An unsupported outcome; `errno` is what the kernel answered. */
export function unsupported(errno?: number, detail?: string): Outcome {
  return { status: "unsupported", errno, detail };
}

/** A refusal: EPERM (or EACCES) from a kernel that knows the feature. */
export function refused(errno: number, detail?: string): Outcome {
  return { status: "refused", errno, detail };
}

/**
 * Classify an errno of a probe that otherwise would have succeeded. EINVAL, E2BIG (unknown
 * attr fields), EOPNOTSUPP and ENOTSUPP mean the kernel lacks it; EPERM means something
 * refused it; anything else is inconclusive (`undefined`: the caller throws).
 */
export function classifyErrno(errno: number, command: string): Outcome | undefined {
  switch (errnoName(errno)) {
    case "EINVAL":
    case "E2BIG":
    case "EOPNOTSUPP":
    case "ENOTSUPP":
      return unsupported(errno, `${errnoName(errno)} from ${command}`);
    case "EPERM":
      return refused(errno, `EPERM from ${command}: ${refusalReason()}`);
    default:
      return undefined;
  }
}

/** How many probe bodies have run in this process (for tests of the cache). */
let bodiesRun = 0;

/** How many probe bodies ran in this process so far: a cached answer runs none. */
export function probeBodiesRun(): number {
  return bodiesRun;
}

/**
 * A cached probe: `fn` runs at most once per process when it answers; an inconclusive answer
 * (a thrown error) is not cached, so a later call tries again.
 */
export function cachedProbe(feature: string, minKernel: string, fn: () => Outcome): () => ProbeResult {
  let result: ProbeResult | undefined;
  return () => {
    if (result) return result;
    bodiesRun += 1;
    result = toResult(feature, minKernel, fn());
    return result;
  };
}

/** A family of cached probes keyed by a string (`"xdp"`, `"xdp/bpf_redirect"`). */
export class ProbeCache<K extends string> {
  readonly #results = new Map<K, ProbeResult>();
  readonly #run: (key: K) => ProbeResult;
  constructor(run: (key: K) => { feature: string; minKernel: string; outcome: () => Outcome }) {
    this.#run = (key) => {
      const p = run(key);
      bodiesRun += 1;
      return toResult(p.feature, p.minKernel, p.outcome());
    };
  }
  /** The answer for `key`, probing once. */
  get(key: K): ProbeResult {
    let r = this.#results.get(key);
    if (!r) {
      r = this.#run(key);
      this.#results.set(key, r);
    }
    return r;
  }
}

function toResult(feature: string, minKernel: string, o: Outcome): ProbeResult {
  const r: { -readonly [K in keyof ProbeResult]: ProbeResult[K] } = { feature, status: o.status, minKernel };
  if (o.detail !== undefined) r.detail = o.detail;
  if (o.status !== "supported" && o.errno !== undefined) r.errno = errnoName(o.errno);
  return Object.freeze(r);
}

/**
 * The error for a feature a caller needs but the probe did not find: NotSupportedError naming
 * the feature and its minimum kernel, marked `refused` when the kernel knows it but EPERM came.
 */
export function notSupported(r: ProbeResult, cause?: unknown): NotSupportedError {
  return new NotSupportedError(r.feature, {
    minKernel: r.minKernel,
    refused: r.status === "refused",
    detail: r.detail,
    cause,
  });
}

/** Throw notSupported(r) unless the probe found the feature. */
export function requireFeature(r: ProbeResult): void {
  if (r.status !== "supported") throw notSupported(r);
}

/** Whether `e` is a BpfError with this errno name. */
export function isErrno(e: unknown, name: string): e is BpfError {
  return e instanceof BpfError && e.code === name;
}
