/**
 * The opcode constants as one namespace object, for the public entry point
 * (`import { opcodes } from "tsbpf"; opcodes.BPF_ALU64`).
 */
import * as opcodes from "./opcodes.js";

/** Every opcode constant of `opcodes.ts` (`BPF_ALU64`, `BPF_PSEUDO_MAP_FD`, …). */
export { opcodes };
