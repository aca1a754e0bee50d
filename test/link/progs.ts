/** Tiny programs for link tests, built with the asm builder and loaded with Program.load. */
import { exit, instructions, mov64 } from "../../src/asm/builder.js";
import { Program } from "../../src/program/program.js";
import type { ProgramTypeName, AttachTypeName } from "../../src/spec/program-type.js";

/** A program of `type` that returns `ret` and does nothing else. */
export function retProgram(type: ProgramTypeName, ret: number, name = "tsbpf_ret", expectedAttachType?: AttachTypeName): Program {
  return Program.load({ name, type, license: "GPL", expectedAttachType, instructions: instructions(mov64("r0", ret), exit()) });
}

/** How many times the program ran since stats were enabled (Program.enableStats must be on). */
export function runs(p: Program): bigint {
  return p.info().runCount;
}

/**
 * Element `k` of an array map holding 64-bit values, whatever codec the map has (collection
 * maps get BTF codecs: number keys and bigint values; hand-made maps take raw bytes).
 */
export function getU64(map: { get(key: never): unknown }, k: number, signed = false): bigint {
  let v: unknown;
  try {
    v = map.get(k as never);
  } catch {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, k, true);
    v = map.get(key as never);
  }
  if (typeof v === "bigint") return signed ? BigInt.asIntN(64, v) : v;
  if (typeof v === "number") return BigInt(v);
  const b = v as Uint8Array;
  const dv = new DataView(b.buffer, b.byteOffset, 8);
  return signed ? dv.getBigInt64(0, true) : dv.getBigUint64(0, true);
}
