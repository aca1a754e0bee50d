/**
 * Instructions to bytes and back. One slot is 8 bytes: opcode, a register byte (dst in the low
 * nibble on little-endian, in the high nibble on big-endian), a signed 16-bit offset and a
 * signed 32-bit immediate. `ld_imm64` takes two slots and is one Instruction.
 */
import { ParseError } from "../errors.js";
import type { ByteOrder, Instruction } from "./instruction.js";
import { INSN_SIZE, LD_IMM64 } from "./opcodes.js";
import { instructionProblem } from "./validate.js";

/** How many 8-byte slots an instruction occupies: 2 for `ld_imm64`, 1 otherwise. */
export function instructionSlots(insn: Pick<Instruction, "opcode">): 1 | 2 {
  return insn.opcode === LD_IMM64 ? 2 : 1;
}

/** How many 8-byte slots a list of instructions occupies (the kernel's `insn_cnt`). */
export function countSlots(insns: readonly Pick<Instruction, "opcode">[]): number {
  let n = 0;
  for (const i of insns) n += i.opcode === LD_IMM64 ? 2 : 1;
  return n;
}

/**
 * Encodes instructions into kernel format (`struct bpf_insn[]`), little-endian unless `order`
 * says otherwise. Symbolic references are not resolved here: the current fields are written
 * (see `linkInstructions()` for jumps and calls; the loader fills map fds). Throws RangeError naming the
 * instruction when a field does not fit its bits.
 */
export function encodeInstructions(insns: readonly Instruction[], order: ByteOrder = "little"): Uint8Array {
  const out = new Uint8Array(countSlots(insns) * INSN_SIZE);
  const view = new DataView(out.buffer);
  const le = order === "little";
  if (order !== "little" && order !== "big") throw new TypeError(`byte order must be "little" or "big", not ${String(order)}`);
  let at = 0;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    const { opcode, dst, src, offset } = insn;
    if (!isInt(opcode, 0, 0xff) || !isInt(dst, 0, 15) || !isInt(src, 0, 15) || !isInt(offset, -0x8000, 0x7fff)) {
      throw new RangeError(`instruction ${i}: a field does not fit (opcode ${opcode}, dst ${dst}, src ${src}, offset ${offset})`);
    }
    out[at] = opcode;
    out[at + 1] = le ? (src << 4) | dst : (dst << 4) | src;
    view.setInt16(at + 2, offset, le);
    if (opcode === LD_IMM64) {
      const v = BigInt.asUintN(64, toBigInt(insn.imm, i));
      view.setInt32(at + 4, Number(BigInt.asIntN(32, v)), le);
      view.setInt32(at + 12, Number(BigInt.asIntN(32, v >> 32n)), le);
      at += 16;
    } else {
      const imm = insn.imm;
      if (typeof imm !== "number" || !isInt(imm, -0x80000000, 0xffffffff)) {
        throw new RangeError(`instruction ${i}: immediate ${String(imm)} is not a 32-bit number`);
      }
      view.setInt32(at + 4, imm | 0, le);
      at += 8;
    }
  }
  return out;
}

/** The fields of one raw instruction, as the decoder's checks read them. */
interface RawFields {
  opcode: number;
  dst: number;
  src: number;
  offset: number;
  imm: number | bigint;
}

/**
 * Why the decoder refuses the instruction at byte `at` ([message, byte offset of the fault]),
 * or undefined; `into` receives its fields, with an ld_imm64's immediate as 0n (any 64 bits are
 * in range). One home for the decoder's rules, shared by decodeInstructions and decodable.
 */
function refusal(bytes: Uint8Array, view: DataView, at: number, le: boolean, into: RawFields): [string, number] | undefined {
  const opcode = bytes[at];
  const regs = bytes[at + 1];
  into.opcode = opcode;
  into.dst = le ? regs & 0xf : regs >> 4;
  into.src = le ? regs >> 4 : regs & 0xf;
  into.offset = view.getInt16(at + 2, le);
  if (opcode === LD_IMM64) {
    if (at + 16 > bytes.length) return ["ld_imm64 is truncated (needs a second slot)", at];
    if (bytes[at + 8] !== 0 || bytes[at + 9] !== 0 || view.getInt16(at + 10, le) !== 0) {
      return ["ld_imm64 second slot must have zero opcode, registers and offset", at + 8];
    }
    into.imm = 0n;
  } else {
    into.imm = view.getInt32(at + 4, le);
  }
  const problem = instructionProblem(into as Instruction);
  return problem === undefined ? undefined : [problem, at];
}

function checkByteOrder(order: ByteOrder): void {
  if (order !== "little" && order !== "big") throw new TypeError(`byte order must be "little" or "big", not ${String(order)}`);
}

/**
 * Decodes kernel-format instructions, little-endian unless `order` says otherwise. Returns
 * plain instructions (opcode, dst, src, offset, imm; `ld_imm64` with a signed 64-bit bigint).
 * Throws ParseError with the byte offset when the length is not a multiple of 8, an
 * `ld_imm64` is truncated or its second slot is not zero, or an instruction is not valid in
 * the ISA of Linux 6.18 (unknown opcode, bad register, non-zero reserved field).
 */
export function decodeInstructions(bytes: Uint8Array, order: ByteOrder = "little"): Instruction[] {
  checkByteOrder(order);
  if (bytes.length % INSN_SIZE !== 0) {
    throw new ParseError(`instructions: length ${bytes.length} is not a multiple of ${INSN_SIZE}`, {
      offset: bytes.length - (bytes.length % INSN_SIZE),
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = order === "little";
  const out: Instruction[] = [];
  const f: RawFields = { opcode: 0, dst: 0, src: 0, offset: 0, imm: 0 };
  for (let at = 0; at < bytes.length; ) {
    const refused = refusal(bytes, view, at, le, f);
    if (refused) throw new ParseError(`instruction at byte ${at}: ${refused[0]}`, { offset: refused[1] });
    const lo = view.getInt32(at + 4, le);
    if (f.opcode === LD_IMM64) {
      const hi = view.getInt32(at + 12, le);
      out.push({ opcode: f.opcode, dst: f.dst, src: f.src, offset: f.offset, imm: (BigInt(hi) << 32n) | BigInt(lo >>> 0) });
      at += 16;
    } else {
      out.push({ opcode: f.opcode, dst: f.dst, src: f.src, offset: f.offset, imm: lo });
      at += 8;
    }
  }
  return out;
}

/**
 * Whether decodeInstructions accepts `bytes`, checked without building instructions: for a
 * caller that sends them to the kernel as they are and decodes only to report a refusal.
 */
export function decodable(bytes: Uint8Array, order: ByteOrder = "little"): boolean {
  checkByteOrder(order);
  if (bytes.length % INSN_SIZE !== 0) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = order === "little";
  const f: RawFields = { opcode: 0, dst: 0, src: 0, offset: 0, imm: 0 };
  for (let at = 0; at < bytes.length; at += bytes[at] === LD_IMM64 ? 16 : 8) {
    if (refusal(bytes, view, at, le, f) !== undefined) return false;
  }
  return true;
}

/** Where an encoder wrote a map's fd: the byte offset of the ld_imm64's low imm, and the map. */
export interface FdSlot {
  at: number;
  map: string;
}

function isInt(n: unknown, min: number, max: number): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;
}

function toBigInt(imm: number | bigint, i: number): bigint {
  if (typeof imm === "bigint") {
    if (imm < -(1n << 63n) || imm >= 1n << 64n) throw new RangeError(`instruction ${i}: ld_imm64 immediate does not fit in 64 bits`);
    return imm;
  }
  if (!Number.isSafeInteger(imm)) throw new RangeError(`instruction ${i}: ld_imm64 immediate ${imm} is not a safe integer (use a bigint)`);
  return BigInt(imm);
}
