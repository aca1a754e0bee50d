/**
 * Late resolution of symbolic references inside one instruction list: jumps to labels, bpf2bpf
 * calls and `ld_imm64` function pointers (BPF_PSEUDO_FUNC) by name become offsets. Map, ksym and
 * extern references are left for the loader. Lists can therefore be concatenated, spliced and
 * rewritten freely before linking.
 */
import { TsbpfError } from "../errors.js";
import type { Instruction } from "./instruction.js";
import * as op from "./opcodes.js";

/** Options of `link`. */
export interface LinkOptions {
  /**
   * Leave references to symbols that are not in the list as they are, instead of throwing
   * (for calls to subprograms the loader appends later). Default false.
   */
  allowUnresolved?: boolean;
}

/** Where each symbol of a list starts, in 8-byte slots. */
export function symbolOffsets(insns: readonly Instruction[]): Map<string, number> {
  const at = new Map<string, number>();
  let slot = 0;
  for (let i = 0; i < insns.length; i++) {
    const s = insns[i].symbol;
    if (s !== undefined) {
      if (at.has(s)) throw new TsbpfError(`link: symbol "${s}" names instruction ${i} and an earlier one`);
      at.set(s, slot);
    }
    slot += insns[i].opcode === op.LD_IMM64 ? 2 : 1;
  }
  return at;
}

/**
 * Which field a label's distance goes into for an instruction (not `ld_imm64`) that refers to a
 * label: `imm` for a bpf2bpf call and for `gotol` (JMP32 JA), `offset` for every other jump
 * but `exit`; "call-src" for a call whose src is not BPF_PSEUDO_CALL, undefined for an
 * opcode that cannot refer to a label. One rule for the linker and the loader's encoders.
 */
export function labelField(opcode: number, src: number): "imm" | "offset" | "call-src" | undefined {
  const cls = op.bpfClass(opcode);
  const o = op.bpfOp(opcode);
  const jump = cls === op.BPF_JMP || cls === op.BPF_JMP32;
  if (jump && o === op.BPF_CALL) return src === op.BPF_PSEUDO_CALL ? "imm" : "call-src";
  if (cls === op.BPF_JMP32 && o === op.BPF_JA) return "imm";
  if (jump && o !== op.BPF_EXIT) return "offset";
  return undefined;
}

/**
 * Returns a copy of `insns` in which every `symbol` reference of a jump (`goto`, `gotol`,
 * conditional jumps, `may_goto`), a bpf2bpf call (src BPF_PSEUDO_CALL) or a function pointer
 * load (BPF_PSEUDO_FUNC) is replaced by the offset to that symbol, relative to the next slot.
 * Labels (`symbol`) stay. Throws TsbpfError naming the instruction when a symbol is unknown
 * (unless `allowUnresolved`) or an offset does not fit (a `goto` beyond ±32767 slots needs
 * `gotol`).
 */
export function linkInstructions(insns: readonly Instruction[], options: LinkOptions = {}): Instruction[] {
  const at = symbolOffsets(insns);
  const out: Instruction[] = [];
  let slot = 0;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    const ref = insn.reference;
    const here = slot;
    slot += insn.opcode === op.LD_IMM64 ? 2 : 1;
    if (ref?.kind !== "symbol") {
      out.push(insn);
      continue;
    }
    const target = at.get(ref.name);
    if (target === undefined) {
      if (options.allowUnresolved) {
        out.push(insn);
        continue;
      }
      throw new TsbpfError(`link: instruction ${i} refers to "${ref.name}", which is not a label in this list`);
    }
    const delta = target - here - 1;
    const { reference: _resolved, ...rest } = insn;
    const field = insn.opcode === op.LD_IMM64 ? undefined : labelField(insn.opcode, insn.src);
    if (insn.opcode === op.LD_IMM64) {
      if (insn.src !== op.BPF_PSEUDO_FUNC) throw new TsbpfError(`link: instruction ${i}: ld_imm64 with src ${insn.src} cannot refer to a symbol`);
      out.push({ ...rest, imm: BigInt(delta) });
    } else if (field === "call-src") {
      throw new TsbpfError(`link: instruction ${i}: only a bpf2bpf call (src 1) can refer to a symbol`);
    } else if (field === "imm") {
      out.push({ ...rest, imm: delta });
    } else if (field === "offset") {
      if (delta < -0x8000 || delta > 0x7fff) {
        throw new TsbpfError(`link: instruction ${i}: jump to "${ref.name}" is ${delta} slots away, beyond the 16-bit offset (use gotol)`);
      }
      out.push({ ...rest, offset: delta });
    } else {
      throw new TsbpfError(`link: instruction ${i} (opcode 0x${insn.opcode.toString(16)}) cannot refer to a symbol`);
    }
  }
  return out;
}
