/**
 * Late binding of an instruction list before load: `ld_imm64` map references become map fds
 * (BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE), and jumps, bpf2bpf calls and callback addresses
 * that name a label inside the same list get their offsets. Pure: it works on numbers, and the
 * caller turns maps into fds.
 */
import type { Instruction } from "../asm/instruction.js";

const LD_IMM64 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const CLASS_MASK = 0x07;
const BPF_JMP = 0x05;
const BPF_JMP32 = 0x06;
const OP_MASK = 0xf0;
const BPF_JA = 0x00;
const BPF_CALL = 0x80;
const BPF_EXIT = 0x90;
const BPF_PSEUDO_MAP_FD = 1;
const BPF_PSEUDO_MAP_VALUE = 2;
const BPF_PSEUDO_CALL = 1;
const BPF_PSEUDO_FUNC = 4;

/** Looks a map up by the name an instruction refers to; returns its fd, or undefined. */
export type MapFdLookup = (name: string) => number | undefined;

/** How many 8-byte slots an instruction takes (2 for `ld_imm64`, else 1). */
export function slotCount(insn: Instruction): number {
  return insn.opcode === LD_IMM64 ? 2 : 1;
}

/**
 * A copy of `insns` with every reference it can resolve filled in; the input is not changed.
 * Throws TypeError naming the instruction for a map reference with no map, a label that is
 * not in the list, or a reference kind (`ksym`, `extern`) that only the collection loader can
 * resolve.
 */
export function resolveReferences(insns: readonly Instruction[], mapFd: MapFdLookup, what = "program"): Instruction[] {
  // Slot index of every label, for jumps and calls.
  const labels = new Map<string, number>();
  let slot = 0;
  for (const insn of insns) {
    if (insn.symbol !== undefined && !labels.has(insn.symbol)) labels.set(insn.symbol, slot);
    slot += slotCount(insn);
  }
  const out: Instruction[] = new Array(insns.length);
  slot = 0;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    const ref = insn.reference;
    let result = insn;
    if (ref !== undefined) {
      switch (ref.kind) {
        case "map": {
          if (insn.opcode !== LD_IMM64) {
            throw new TypeError(`${what}: instruction ${i} refers to map "${ref.name}" but is not ld_imm64`);
          }
          const fd = mapFd(ref.name);
          if (fd === undefined) {
            throw new TypeError(`${what}: instruction ${i} refers to map "${ref.name}", which was not given (pass it in options.maps)`);
          }
          const offset = ref.offset ?? 0;
          if (!Number.isInteger(offset) || offset < 0 || offset > 0xffffffff) {
            throw new RangeError(`${what}: instruction ${i}: map value offset ${offset} is not a u32`);
          }
          const value = ref.value === true || offset !== 0;
          result = {
            ...insn,
            src: value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD,
            imm: BigInt.asIntN(64, BigInt(fd) | (BigInt(value ? offset : 0) << 32n)),
          };
          break;
        }
        case "symbol": {
          const target = labels.get(ref.name);
          if (target === undefined) {
            throw new TypeError(`${what}: instruction ${i} refers to "${ref.name}", which is not a label in this program`);
          }
          const delta = target - (slot + 1);
          const cls = insn.opcode & CLASS_MASK;
          const op = insn.opcode & OP_MASK;
          if (insn.opcode === LD_IMM64 && insn.src === BPF_PSEUDO_FUNC) {
            result = { ...insn, imm: BigInt(delta) };
          } else if (cls === BPF_JMP && op === BPF_CALL && insn.src === BPF_PSEUDO_CALL) {
            result = { ...insn, imm: delta };
          } else if (cls === BPF_JMP32 && op === BPF_JA) {
            result = { ...insn, imm: delta }; // gotol: 32-bit offset in imm
          } else if ((cls === BPF_JMP || cls === BPF_JMP32) && op !== BPF_CALL && op !== BPF_EXIT) {
            if (delta < -0x8000 || delta > 0x7fff) {
              throw new RangeError(`${what}: instruction ${i}: jump to "${ref.name}" is ${delta} slots away, beyond a 16-bit offset`);
            }
            result = { ...insn, offset: delta };
          } else {
            throw new TypeError(`${what}: instruction ${i} refers to "${ref.name}" but is neither a jump, a bpf2bpf call nor ld_imm64 of a function`);
          }
          break;
        }
        default:
          throw new TypeError(
            `${what}: instruction ${i} refers to ${ref.kind} "${ref.name}", which Program.load cannot resolve (load it through a Collection)`,
          );
      }
    }
    out[i] = result;
    slot += slotCount(insn);
  }
  return out;
}
