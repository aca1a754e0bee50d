/** Tiny programs for link tests, built with the asm builder and loaded with Program.load. */
import { exit, instructions, mov64 } from "../../src/asm/builder.js";
import { Program } from "../../src/program/program.js";
import type { ProgramTypeName, AttachTypeName } from "../../src/program/program-type.js";

/** A program of `type` that returns `ret` and does nothing else. */
export function retProgram(type: ProgramTypeName, ret: number, name = "tsbpf_ret", expectedAttachType?: AttachTypeName): Program {
  return Program.load({ name, type, license: "GPL", expectedAttachType, instructions: instructions(mov64("r0", ret), exit()) });
}

/** How many times the program ran since stats were enabled (Program.enableStats must be on). */
export function runs(p: Program): bigint {
  return p.info().runCount;
}
