/**
 * The opcode constants as one namespace object, for the public entry point
 * (`import { opcodes } from "tsbpf"; opcodes.BPF_ALU64`).
 */
import * as opcodes from "./opcodes.js";

export { opcodes };
