/**
 * tsbpf's public API. Named exports only: each layer adds its own section below.
 */

// --- errors ---
export {
  TsbpfError,
  SyscallError,
  BpfError,
  VerifierError,
  NotSupportedError,
  ClosedError,
  ParseError,
  errnoName,
  isTsbpfError,
  isSyscallError,
  isBpfError,
  isVerifierError,
  isNotSupportedError,
  isClosedError,
  isParseError,
} from "./errors.js";

// --- asm ---
export type { Instruction, Reference, Register, SourceLine, ByteOrder } from "./asm/instruction.js";

// --- btf ---

// --- maps ---

// --- programs ---

// --- elf / collection ---

// --- links ---
