/**
 * llvm-objdump-19 as an oracle: assemble raw instruction bytes with llvm-mc-19 into an object
 * and read back what llvm-objdump-19 prints for each instruction.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasTool } from "../helpers/kernel.js";

/** Whether llvm-objdump-19 is installed (the golden tests run only then). */
export const hasObjdump = hasTool("llvm-objdump-19");
/** Whether llvm-mc-19 is installed too (for objects made of arbitrary instruction bytes). */
export const hasLlvmMc = hasObjdump && hasTool("llvm-mc-19");

/** One disassembled line: slot number and text, with the ` <sym+0x..>` jump annotation split off. */
export interface ObjdumpLine {
  slot: number;
  text: string;
  annotation?: string;
}

/** Runs llvm-objdump-19 -d --no-show-raw-insn and returns its stdout. */
export function objdump(file: string, extra: string[] = [], cwd?: string): string {
  return execFileSync("llvm-objdump-19", ["-d", "--no-show-raw-insn", ...extra, file], { encoding: "utf8", maxBuffer: 64 << 20, cwd: cwd ?? process.cwd() });
}

/** Instruction lines of llvm-objdump output. */
export function instructionLines(out: string): ObjdumpLine[] {
  const lines: ObjdumpLine[] = [];
  for (const l of out.split("\n")) {
    const m = /^ *(\d+):\t(.*)$/.exec(l);
    if (!m) continue;
    const a = / (<[^<>]*>)$/.exec(m[2]);
    lines.push({ slot: Number(m[1]), text: a ? m[2].slice(0, a.index) : m[2], annotation: a?.[1] });
  }
  return lines;
}

/** Disassembles raw bytes with llvm (little- or big-endian) and returns its instruction lines. */
export function llvmDisassemble(bytes: Uint8Array, order: "little" | "big" = "little", extra: string[] = []): ObjdumpLine[] {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-asm-"));
  try {
    const lines = [".text", ".globl f", "f:"];
    for (let at = 0; at < bytes.length; at += 64) lines.push(`.byte ${[...bytes.subarray(at, at + 64)].join(",")}`);
    writeFileSync(join(dir, "t.s"), `${lines.join("\n")}\n`);
    execFileSync("llvm-mc-19", ["-triple", order === "little" ? "bpfel" : "bpfeb", "-filetype=obj", join(dir, "t.s"), "-o", join(dir, "t.o")]);
    return instructionLines(objdump(join(dir, "t.o"), extra));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
