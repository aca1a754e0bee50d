/**
 * Late binding of an instruction list before load: `ld_imm64` map references become map fds
 * (BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE), and jumps, bpf2bpf calls and callback addresses
 * that name a label inside the same list get their offsets. Pure: it works on numbers, and the
 * caller turns maps into fds.
 */
import type { Instruction } from "../asm/instruction.js";
import { linkInstructions } from "../asm/link.js";
import * as op from "../asm/opcodes.js";
import { TsbpfError } from "../errors.js";

const { LD_IMM64, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } = op;

/** Looks a map up by the name an instruction refers to; returns its fd, or undefined. */
export type MapFdLookup = (name: string) => number | undefined;

/** How many 8-byte slots an instruction takes (2 for `ld_imm64`, else 1). */
export function slotCount(insn: Instruction): number {
  return insn.opcode === LD_IMM64 ? 2 : 1;
}

/**
 * A copy of `insns` with every reference it can resolve filled in; the input is not changed.
 * Labels (jumps, bpf2bpf calls, callback addresses) are linked by the assembler's `linkInstructions()`.
 * Throws TypeError naming the instruction for a map reference with no map, or a reference kind
 * (`ksym`, `extern`) that only the collection loader can resolve; TsbpfError for a label that
 * is not in the list.
 */
export function resolveReferences(insns: readonly Instruction[], mapFd: MapFdLookup, what = "program"): Instruction[] {
  let linked: Instruction[];
  try {
    linked = linkInstructions(insns);
  } catch (e) {
    if (e instanceof TsbpfError) throw new TsbpfError(`${what}: ${e.message}`, { cause: e });
    throw e;
  }
  return linked.map((insn, i) => {
    const ref = insn.reference;
    if (ref === undefined || ref.kind === "symbol") return insn;
    if (ref.kind !== "map") {
      throw new TypeError(
        `${what}: instruction ${i} refers to ${ref.kind} "${ref.name}", which Program.load cannot resolve (load it through a Collection)`,
      );
    }
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
    return {
      ...insn,
      src: value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD,
      imm: BigInt.asIntN(64, BigInt(fd) | (BigInt(value ? offset : 0) << 32n)),
    };
  });
}
