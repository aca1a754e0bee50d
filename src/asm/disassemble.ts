/**
 * Instruction lists → the listing llvm-objdump prints: symbol headers, instruction numbers
 * (slots), jump annotations (`<prog+0x88>`), optionally annotated with helper names, map
 * names and source lines.
 */
import { ParseError } from "../errors.js";
import { decodeInstructions } from "./encoding.js";
import { type FormatOptions, formatInstruction } from "./format.js";
import { helperName } from "./helpers.js";
import type { ByteOrder, Instruction } from "./instruction.js";
import * as op from "./opcodes.js";

/** A symbol for the listing: a name at a byte address of the section. */
export interface ListingSymbol {
  readonly name: string;
  /** Byte address within the section (slot × 8). */
  readonly address: number;
}

/** Options of `disassemble`. */
export interface DisassembleOptions extends FormatOptions {
  /**
   * Symbols of the section, for headers and jump annotations, as llvm-objdump uses them.
   * Default: the `symbol` labels of the instructions.
   */
  symbols?: readonly ListingSymbol[];
  /** Append `; bpf_<name>` to helper calls. Default false. */
  helpers?: boolean;
  /** Append `; <map name>` to loads of maps (and other named references). Default false. */
  maps?: boolean;
  /** Print each new source line (from BTF line info, `insn.source`) as `; <text>` above its instructions. Default false. */
  source?: boolean;
  /**
   * Extra annotation per slot (e.g. relocation targets the caller found), appended as
   * `; <text>` when `maps` is set.
   */
  annotations?: ReadonlyMap<number, string>;
  /**
   * The section's name: when no symbol starts the section, llvm-objdump prints a header with
   * the section's name there (which does not annotate jumps).
   */
  sectionName?: string;
}

/** One decoded slot: an instruction, or undefined where the bytes are not a valid one. */
export interface DecodedSlot {
  readonly slot: number;
  readonly insn?: Instruction;
}

/**
 * Decodes a code section for display: like `decodeInstructions`, but an invalid instruction
 * becomes an empty slot (printed `<unknown>`) instead of an error, as llvm-objdump does.
 */
export function decodeForListing(bytes: Uint8Array, order: ByteOrder = "little"): DecodedSlot[] {
  const out: DecodedSlot[] = [];
  for (let at = 0; at + 8 <= bytes.length; ) {
    const wide = bytes[at] === op.LD_IMM64 && at + 16 <= bytes.length;
    const len = wide ? 16 : 8;
    try {
      out.push({ slot: at / 8, insn: decodeInstructions(bytes.subarray(at, at + len), order)[0] });
      at += len;
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      out.push({ slot: at / 8 });
      at += 8;
    }
  }
  return out;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, "0");
}

/** The `<sym+0x..>` annotation llvm-objdump gives a jump target: the last symbol at or before it. */
function targetAnnotation(sorted: readonly ListingSymbol[], target: bigint): string | undefined {
  let best: ListingSymbol | undefined;
  for (const s of sorted) {
    if (BigInt(s.address) <= target) best = s;
    else break;
  }
  if (!best) return undefined;
  const delta = target - BigInt(best.address);
  return delta === 0n ? `<${best.name}>` : `<${best.name}+0x${delta.toString(16)}>`;
}

/** Byte address a jump at `slot` lands on, wrapped to 64 bits as llvm-objdump computes it. */
function jumpTarget(insn: Instruction, slot: number): bigint | undefined {
  const cls = op.bpfClass(insn.opcode);
  if (cls !== op.BPF_JMP && cls !== op.BPF_JMP32) return undefined;
  const o = op.bpfOp(insn.opcode);
  if (o === op.BPF_CALL || o === op.BPF_EXIT) return undefined;
  const delta = cls === op.BPF_JMP32 && o === op.BPF_JA ? (insn.imm as number) : insn.offset;
  return BigInt.asUintN(64, BigInt(slot + 1 + delta) * 8n);
}

/** Sorts symbols as llvm-objdump does: by address, then by name. */
export function sortSymbols(symbols: readonly ListingSymbol[]): ListingSymbol[] {
  return [...symbols].sort((a, b) => a.address - b.address || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * One line of a listing, before it is printed: a symbol header, a source line from BTF line
 * info, or an instruction (its text with jump target and annotations, `<unknown>` for bytes
 * that are not one). `disassemble` prints these; `tsbpf disasm --json` prints them as JSON, so
 * both say the same.
 */
export type ListingRow =
  | { readonly kind: "symbol"; readonly name: string; readonly address: number }
  | { readonly kind: "source"; readonly text: string }
  | { readonly kind: "insn"; readonly slot: number; readonly text: string };

/**
 * The rows of a listing of `slots` (from `decodeForListing`) or of an instruction list, in
 * llvm-objdump's order: each symbol's header before its first instruction, each new source
 * line (when `options.source`) above its instructions. Never throws for any instruction.
 */
export function listingRows(list: readonly Instruction[] | readonly DecodedSlot[], options: DisassembleOptions = {}): ListingRow[] {
  const slots: DecodedSlot[] = [];
  let symbols = options.symbols;
  if (list.length > 0 && "slot" in list[0] && !("opcode" in list[0])) {
    slots.push(...(list as readonly DecodedSlot[]));
  } else {
    let slot = 0;
    const labels: ListingSymbol[] = [];
    for (const insn of list as readonly Instruction[]) {
      slots.push({ slot, insn });
      if (insn.symbol !== undefined) labels.push({ name: insn.symbol, address: slot * 8 });
      slot += insn.opcode === op.LD_IMM64 ? 2 : 1;
    }
    symbols ??= labels;
  }
  const sorted = sortSymbols(symbols ?? []);
  const rows: ListingRow[] = [];
  let nextSym = 0;
  if (options.sectionName !== undefined && slots.length > 0 && (sorted.length === 0 || sorted[0].address !== 0)) {
    rows.push({ kind: "symbol", name: options.sectionName, address: 0 });
  }
  let lastSource: string | undefined;
  for (const { slot, insn } of slots) {
    const address = slot * 8;
    // Headers for every symbol up to this address (symbols inside an ld_imm64 included).
    while (nextSym < sorted.length && sorted[nextSym].address <= address) {
      rows.push({ kind: "symbol", name: sorted[nextSym].name, address: sorted[nextSym].address });
      nextSym++;
    }
    if (!insn) {
      rows.push({ kind: "insn", slot, text: "<unknown>" });
      continue;
    }
    if (options.source && insn.source) {
      const key = `${insn.source.file}:${insn.source.line}`;
      if (key !== lastSource) {
        rows.push({ kind: "source", text: insn.source.text.trim() });
        lastSource = key;
      }
    }
    let text = formatInstruction(insn, options);
    const target = options.dialect === "tsbpf" && insn.reference?.kind === "symbol" ? undefined : jumpTarget(insn, slot);
    if (target !== undefined) {
      const note = targetAnnotation(sorted, target);
      if (note) text += ` ${note}`;
    }
    const notes: string[] = [];
    if (options.helpers && op.bpfClass(insn.opcode) === op.BPF_JMP && op.bpfOp(insn.opcode) === op.BPF_CALL && insn.src === op.BPF_HELPER_CALL) {
      const name = helperName(insn.imm as number);
      if (name) notes.push(`bpf_${name}`);
    }
    if (options.maps) {
      const extra = options.annotations?.get(slot);
      if (extra !== undefined) notes.push(extra);
      else if (insn.reference && options.dialect !== "tsbpf") notes.push(insn.reference.name);
    }
    if (notes.length > 0) text += ` ; ${notes.join(", ")}`;
    rows.push({ kind: "insn", slot, text });
  }
  return rows;
}

/** Prints listing rows in llvm-objdump's layout (see `disassemble`). */
export function printListing(rows: readonly ListingRow[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    if (row.kind === "symbol") lines.push("", `${hex16(row.address)} <${row.name}>:`);
    else if (row.kind === "source") lines.push(`; ${row.text}`);
    else lines.push(`${String(row.slot).padStart(8)}:\t${row.text}`);
  }
  // llvm-objdump starts each symbol with a blank line; a listing starts without one.
  if (lines[0] === "") lines.shift();
  return lines.join("\n");
}

/**
 * Prints a listing of `slots` (from `decodeForListing`) or of an instruction list, in
 * llvm-objdump's layout: a blank line and `0000000000000000 <name>:` before each symbol,
 * then `%8d:\t<instruction>` per instruction. Never throws for any instruction.
 */
export function disassemble(list: readonly Instruction[] | readonly DecodedSlot[], options: DisassembleOptions = {}): string {
  return printListing(listingRows(list, options));
}
