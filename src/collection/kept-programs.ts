/**
 * What the collection loader keeps of an ELF program between loads of the same spec: its kernel
 * bytes (with the map fds refilled on each load) and its func/line info records. They are kept
 * only while no user code has read or assigned the program's instructions or .BTF.ext fields
 * (`unseenProgram`): until then only the loader has had those arrays, so they cannot have
 * changed, and a warm load copies bytes instead of walking instruction objects.
 */
import { unseenProgram } from "../elf/collection-spec.js";
import type { KeptCode } from "../program/load.js";
import type { ProgramSpec } from "../spec/program-spec.js";

export interface KeptProgram {
  /** Recorded by the first load that encodes the instructions in one pass (no externs, ksyms). */
  code: KeptCode;
  /** `spec.btf` as the loader marshals it from the records; null when there are none; unset until the first load with BTF. */
  btf?: ProgramSpec["btf"] | null;
  /** Set when the section bytes could not stand for the instructions (kernel-bytes.ts gave up): not tried again. */
  noSectionBytes?: true;
}

const kept = new WeakMap<object, KeptProgram>();

/** What is kept for `p` (made empty on first ask), or undefined when nothing may be kept. */
export function keptProgram(p: ProgramSpec): KeptProgram | undefined {
  const key = unseenProgram(p);
  if (key === undefined) return undefined;
  let k = kept.get(key);
  if (k === undefined) {
    k = { code: { fdSlots: [] } };
    kept.set(key, k);
  }
  return k;
}

/**
 * True when `p`'s kernel bytes are kept: its instructions loaded before, encoded in one pass
 * (so they hold no ksym or extern reference), and have not changed since.
 */
export function hasKeptCode(p: ProgramSpec): boolean {
  const key = unseenProgram(p);
  return key !== undefined && kept.get(key)?.code.bytes !== undefined;
}
