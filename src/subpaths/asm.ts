/**
 * `tsbpf/asm`: BPF instructions as data. The instruction model, encoder and decoder, the
 * builder functions, the text assembler, the disassembler and formatter, and the linker that
 * resolves labels and calls in an instruction list. Everything here is pure (no kernel).
 */
export type { Instruction, Reference, Register, SourceLine, ByteOrder } from "../asm/instruction.js";
export { encodeInstructions, decodeInstructions, instructionSlots, countSlots } from "../asm/encoding.js";
export { instructionProblem } from "../asm/validate.js";
export { HELPER_NAMES, helperId, helperName } from "../asm/helpers.js";
export { opcodes } from "../asm/opcodes-namespace.js";
export {
  R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, regNumber,
  add64, sub64, mul64, div64, sdiv64, or64, and64, lsh64, rsh64, mod64, smod64, xor64, mov64, arsh64, neg64,
  add32, sub32, mul32, div32, sdiv32, or32, and32, lsh32, rsh32, mod32, smod32, xor32, mov32, arsh32, neg32,
  movsx64, movsx32, addrSpaceCast, be, le, bswap,
  ldx, ldxsx, stx, st, ldAbs, ldInd, atomic, loadAcquire, storeRelease,
  ldImm64, ldMapFd, ldMapValue, ldMapIdx, ldMapIdxValue, ldBtfId, ldFunc,
  jeq, jne, jgt, jge, jlt, jle, jsgt, jsge, jslt, jsle, jset,
  jeq32, jne32, jgt32, jge32, jlt32, jle32, jsgt32, jsge32, jslt32, jsle32, jset32,
  ja, gotol, mayGoto, call, callFunction, callKfunc, exit, label, instructions,
} from "../asm/builder.js";
export type { Reg, Operand, Target, Label, InstructionItem, AtomicOpName } from "../asm/builder.js";
export { asm, assemble } from "../asm/assembler.js";
export { linkInstructions, symbolOffsets } from "../asm/link.js";
export type { LinkOptions } from "../asm/link.js";
export { formatInstruction } from "../asm/format.js";
export type { Dialect, FormatOptions } from "../asm/format.js";
export { disassemble, decodeForListing } from "../asm/disassemble.js";
export type { DisassembleOptions, ListingSymbol, DecodedSlot } from "../asm/disassemble.js";
