/**
 * The options of single-element operations (get, set, push) as the kernel's BPF_ANY /
 * BPF_NOEXIST / BPF_EXIST / BPF_F_LOCK flags. Bad options are a TypeError before the syscall.
 */
import { unknownOption } from "../errors.js";
import { ElemFlags } from "../sys/map-attr.js";

/** How an update treats an existing key: BPF_ANY, BPF_NOEXIST or BPF_EXIST. */
export type UpdateMode = "any" | "noexist" | "exist";

/** Options of BpfMap.set / push / updateBatch. */
export interface SetOptions {
  /** "any" (default) creates or replaces; "noexist" only creates; "exist" only replaces. */
  mode?: UpdateMode;
  /** BPF_F_LOCK: update under the value's bpf_spin_lock (the value's BTF must have one). */
  lock?: boolean;
}

/** Options of BpfMap.get. */
export interface GetOptions {
  /** BPF_F_LOCK: read under the value's bpf_spin_lock. */
  lock?: boolean;
}

/** The flags of an update: a mode string or `{ mode, lock }`. Throws TypeError for anything else. */
export function updateFlags(options: SetOptions | UpdateMode | undefined): number {
  if (options === undefined) return ElemFlags.ANY;
  if (typeof options === "string") return modeFlag(options);
  if (typeof options !== "object" || options === null) throw new TypeError("update options must be an object or a mode string");
  for (const k in options) if (k !== "mode" && k !== "lock") throw unknownOption("update", k, ["mode", "lock"]);
  return modeFlag(options.mode ?? "any") | (options.lock ? ElemFlags.LOCK : 0);
}

function modeFlag(mode: UpdateMode): number {
  switch (mode) {
    case "any": return ElemFlags.ANY;
    case "noexist": return ElemFlags.NOEXIST;
    case "exist": return ElemFlags.EXIST;
    default: throw new TypeError(`update mode must be "any", "noexist" or "exist", got ${JSON.stringify(mode)}`);
  }
}

/** The flags of a lookup (`{ lock }`). Throws TypeError for anything else. */
export function getFlags(options: GetOptions | undefined): number {
  if (options === undefined) return 0;
  if (typeof options !== "object" || options === null) throw new TypeError("lookup options must be an object");
  for (const k in options) if (k !== "lock") throw unknownOption("lookup", k, ["lock"]);
  return options.lock ? ElemFlags.LOCK : 0;
}
