/**
 * The fast path of program loading: link labels, fill map fds and encode to kernel bytes in one
 * pass, without building a linked copy of the list, a resolved copy, or a BigInt per map
 * reference. It gives up (returns undefined) on anything unusual, and the caller then takes the
 * general path (`resolveReferences` + `encodeInstructions`), which produces the same bytes or
 * the exact error. Pure: works on numbers; the caller turns maps into fds.
 */
import type { FdSlot } from "../asm/encoding.js";
import type { Instruction } from "../asm/instruction.js";
import { labelField } from "../asm/link.js";
import * as op from "../asm/opcodes.js";
import type { MapFdLookup } from "./resolve-references.js";

// Read once: under some loaders (tsx's CJS interop) every `op.X` is a getter call.
const {
  LD_IMM64, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, BPF_PSEUDO_FUNC,
} = op;
const TWO_32 = 0x100000000;


function isInt(n: unknown, min: number, max: number): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;
}

/**
 * Kernel-format little-endian bytes of `insns` with labels linked and map references resolved,
 * exactly as `encodeInstructions(resolveReferences(insns, mapFd))` would make them; undefined
 * when that path would throw, or when the list holds something this path leaves to it (a
 * 64-bit bigint immediate out of range, an fd above 2^31, a lookup that throws…). With
 * `fdSlots`, each map fd written is recorded there, so a caller that knows the list has not
 * changed can load the same bytes again with other maps (see `refillFds`).
 */
export function encodeForLoad(insns: readonly Instruction[], mapFd: MapFdLookup, fdSlots?: FdSlot[]): Uint8Array | undefined {
  // Pass 1: slots, and where each label starts (duplicate labels are the general path's error).
  let slots = 0;
  let labels: Map<string, number> | undefined;
  const n = insns.length;
  for (let i = 0; i < n; i++) {
    const insn = insns[i];
    const s = insn.symbol;
    if (s !== undefined) {
      labels ??= new Map();
      if (labels.has(s)) return undefined;
      labels.set(s, slots);
    }
    slots += insn.opcode === LD_IMM64 ? 2 : 1;
  }

  const out = new Uint8Array(slots * 8);
  const view = new DataView(out.buffer);
  let at = 0;
  try {
    for (let i = 0; i < n; i++) {
      const insn = insns[i];
      const opcode = insn.opcode;
      const dst = insn.dst;
      let src = insn.src;
      let offset = insn.offset;
      let imm = insn.imm;
      const ref = insn.reference;
      const here = at >> 3;
      if (opcode === LD_IMM64) {
        let lo: number;
        let hi: number;
        if (ref === undefined) {
          if (typeof imm === "number") {
            if (!Number.isSafeInteger(imm)) return undefined;
            hi = Math.floor(imm / TWO_32);
            lo = imm - hi * TWO_32;
          } else {
            if (typeof imm !== "bigint" || imm < -(1n << 63n) || imm >= 1n << 64n) return undefined;
            const v = BigInt.asUintN(64, imm);
            lo = Number(v & 0xffffffffn);
            hi = Number(v >> 32n);
          }
        } else if (ref.kind === "map") {
          const fd = mapFd(ref.name);
          if (fd === undefined || !isInt(fd, 0, 0x7fffffff)) return undefined;
          const off = ref.offset ?? 0;
          if (!isInt(off, 0, 0xffffffff)) return undefined;
          const value = ref.value === true || off !== 0;
          src = value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
          lo = fd;
          hi = value ? off : 0;
          fdSlots?.push({ at: at + 4, map: ref.name });
        } else if (ref.kind === "symbol") {
          const target = labels?.get(ref.name);
          if (target === undefined || src !== BPF_PSEUDO_FUNC) return undefined;
          lo = target - here - 1;
          hi = lo < 0 ? -1 : 0;
        } else {
          return undefined;
        }
        if (!isInt(dst, 0, 15) || !isInt(src, 0, 15) || !isInt(offset, -0x8000, 0x7fff)) return undefined;
        out[at] = opcode;
        out[at + 1] = (src << 4) | dst;
        view.setInt16(at + 2, offset, true);
        view.setUint32(at + 4, lo >>> 0, true);
        view.setUint32(at + 12, hi >>> 0, true);
        at += 16;
        continue;
      }
      if (ref !== undefined) {
        // Only labels: map references on other instructions, ksyms and externs are errors.
        if (ref.kind !== "symbol") return undefined;
        const target = labels?.get(ref.name);
        if (target === undefined) return undefined;
        const delta = target - here - 1;
        const field = labelField(opcode, src);
        if (field === "imm") imm = delta;
        else if (field === "offset" && delta >= -0x8000 && delta <= 0x7fff) offset = delta;
        else return undefined;
      }
      if (
        !isInt(opcode, 0, 0xff) || !isInt(dst, 0, 15) || !isInt(src, 0, 15) || !isInt(offset, -0x8000, 0x7fff) ||
        !isInt(imm, -0x80000000, 0xffffffff)
      ) {
        return undefined;
      }
      out[at] = opcode;
      out[at + 1] = (src << 4) | dst;
      view.setInt16(at + 2, offset, true);
      view.setInt32(at + 4, imm | 0, true);
      at += 8;
    }
  } catch {
    // A lookup threw (a closed map, a bad fd): the general path throws it in its own order.
    return undefined;
  }
  return out;
}

/**
 * Write each slot's map fd into `bytes` (made by `encodeForLoad` with these slots). False, with
 * `bytes` partly written, when a map is missing or its fd is one `encodeForLoad` leaves to the
 * general path: the caller then encodes from the instructions.
 */
export function refillFds(bytes: Uint8Array, fdSlots: readonly FdSlot[], mapFd: MapFdLookup): boolean {
  try {
    for (let i = 0; i < fdSlots.length; i++) {
      const slot = fdSlots[i];
      const fd = mapFd(slot.map);
      if (fd === undefined || !isInt(fd, 0, 0x7fffffff)) return false;
      // Little-endian u32, byte by byte: no DataView per call.
      const at = slot.at;
      bytes[at] = fd & 0xff;
      bytes[at + 1] = (fd >>> 8) & 0xff;
      bytes[at + 2] = (fd >>> 16) & 0xff;
      bytes[at + 3] = fd >>> 24;
    }
  } catch {
    return false; // a closed map: the general path throws its error
  }
  return true;
}
