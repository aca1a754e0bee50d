/**
 * The instruction model: plain data, one object per instruction. `ld_imm64` is one
 * Instruction that occupies two 8-byte slots. Lists of instructions are ordinary arrays that
 * callers slice, splice and inspect; symbolic references are resolved late (at load).
 *
 * This file is the contract between the assembler, the ELF loader and program loading:
 * change its shape only with all three in mind.
 */

/** Registers r0–r10 (r10 is the read-only frame pointer). */
export type Register = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

/** What an instruction refers to by name, resolved when the program is linked or loaded. */
export type Reference =
  /** A jump target or a bpf2bpf call target: a label / function symbol. */
  | { readonly kind: "symbol"; readonly name: string }
  /** `ld_imm64` of a map's fd (`BPF_PSEUDO_MAP_FD`) or of an address in its value (`BPF_PSEUDO_MAP_VALUE`, with `offset` into the value). */
  | { readonly kind: "map"; readonly name: string; readonly value?: boolean; readonly offset?: number }
  /** A call to a kfunc or a `__ksym` load, resolved against kernel BTF. */
  | { readonly kind: "ksym"; readonly name: string }
  /** A `.kconfig` / other extern variable. */
  | { readonly kind: "extern"; readonly name: string; readonly offset?: number };

/** Source position from BTF line info. */
export interface SourceLine {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly text: string;
}

/** One eBPF instruction. */
export interface Instruction {
  /** The 8-bit opcode (class | size/source | mode/op). */
  opcode: number;
  /** Destination register (0–10). */
  dst: number;
  /** Source register (0–10), or a pseudo value for `ld_imm64`/calls (BPF_PSEUDO_*). */
  src: number;
  /** Signed 16-bit offset (jumps, memory, movsx/sdiv variants). */
  offset: number;
  /**
   * Immediate. A signed 32-bit number for every instruction except `ld_imm64`, where it is the
   * full 64-bit constant as a bigint (low slot imm | next slot imm << 32).
   */
  imm: number | bigint;
  /** Labels naming this instruction (function symbols, jump targets). */
  symbol?: string;
  /** What this instruction refers to, resolved later. */
  reference?: Reference;
  /** Source line from BTF line info, when known. */
  source?: SourceLine;
}

/** Byte order of encoded instructions. */
export type ByteOrder = "little" | "big";
