/**
 * llvm as the oracle for the x86-64 decoder: llvm-mc-19 assembles text or wraps raw bytes in an
 * object, and llvm-objdump-19 -d --no-show-raw-insn prints each instruction. Lines come back
 * without the ` <sym+0x..>` llvm adds after jump targets (the decoder has no symbols).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasTool } from "../../helpers/kernel.js";

/** Whether llvm-mc-19 and llvm-objdump-19 are installed. */
export const hasX86Llvm = hasTool("llvm-objdump-19") && hasTool("llvm-mc-19");

function objdumpLines(source: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-x86-"));
  try {
    writeFileSync(join(dir, "t.s"), source);
    execFileSync("llvm-mc-19", ["-triple", "x86_64", "-filetype=obj", join(dir, "t.s"), "-o", join(dir, "t.o")], { stdio: ["ignore", "ignore", "pipe"] });
    const out = execFileSync("llvm-objdump-19", ["-d", "--no-show-raw-insn", join(dir, "t.o")], { encoding: "utf8", maxBuffer: 64 << 20 });
    return out
      .split("\n")
      .filter((l) => /^ +[0-9a-f]+:\s/.test(l))
      .map((l) => l.replace(/ <[^<>]*>/, "").trimEnd());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What llvm-objdump prints for raw x86-64 bytes (addresses from 0). */
export function llvmX86Bytes(bytes: Uint8Array): string[] {
  const lines = [".text"];
  for (let at = 0; at < bytes.length; at += 64) lines.push(`.byte ${[...bytes.subarray(at, at + 64)].join(",")}`);
  return objdumpLines(`${lines.join("\n")}\n`);
}

/** Assemble AT&T text with llvm-mc: the object's .text bytes and llvm-objdump's lines for them. */
export function llvmX86Assemble(asm: string): { bytes: Uint8Array; lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-x86-"));
  try {
    writeFileSync(join(dir, "t.s"), `.text\n${asm}\n`);
    execFileSync("llvm-mc-19", ["-triple", "x86_64", "-filetype=obj", join(dir, "t.s"), "-o", join(dir, "t.o")], { stdio: ["ignore", "ignore", "pipe"] });
    execFileSync("llvm-objcopy-19", ["-O", "binary", "--only-section=.text", join(dir, "t.o"), join(dir, "t.bin")]);
    const bytes = new Uint8Array(readFileSync(join(dir, "t.bin")));
    return { bytes, lines: llvmX86Bytes(bytes) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
