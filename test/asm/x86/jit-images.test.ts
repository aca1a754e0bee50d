/**
 * The x86-64 decoder on what this machine's BPF JIT really emits: every program of every object
 * in bpf/ that loads here, its JIT'd image (BPF_OBJ_GET_INFO_BY_FD jited_prog_insns) decoded and
 * compared line by line with llvm-objdump-19 on the same bytes.
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";
import { decodeX86, formatX86Line } from "../../../src/asm/x86/decode.js";
import { Collection } from "../../../src/collection/collection.js";
import { CollectionSpec } from "../../../src/elf/collection-spec.js";
import { describeKernel, itKernel } from "../../helpers/kernel.js";
import { hasX86Llvm, llvmX86Bytes } from "./llvm-x86.js";

const root = join(import.meta.dirname, "../../..");

function objects(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? objects(join(dir, e.name)) : e.name.endsWith(".o") ? [join(dir, e.name)] : [],
  );
}

/** JIT images are x86-64 only on an x86-64 machine; llvm is the oracle. */
const itX86 = process.arch === "x64" && hasX86Llvm ? itKernel : it.skip;

describeKernel("x86-64 decoder on this machine's JIT images", () => {
  itX86("every program bpf/ loads here disassembles as llvm-objdump-19 does", () => {
    let images = 0;
    let instructions = 0;
    const seen = new Set<string>();
    for (const file of objects(join(root, "bpf"))) {
      let coll: Collection;
      try {
        coll = Collection.load(CollectionSpec.fromFile(file));
      } catch {
        continue; // objects made to fail (verifier tests) or refused here: nothing JIT'd to compare
      }
      try {
        for (const [name, prog] of Object.entries(coll.programs)) {
          const code = prog.debugInfo().jitedCode;
          const key = Buffer.from(code).toString("hex");
          if (code.length === 0 || seen.has(key)) continue;
          seen.add(key);
          const ours = decodeX86(code);
          expect(ours.every((i) => i.mnemonic !== "<unknown>"), `${relative(root, file)} ${name}`).toBe(true);
          expect([relative(root, file), name, ours.map((i) => formatX86Line(i))]).toEqual([relative(root, file), name, llvmX86Bytes(code)]);
          images += 1;
          instructions += ours.length;
        }
      } finally {
        coll.close();
      }
    }
    // bpf/ has dozens of loadable programs; a handful would mean loading broke, not a pass.
    expect(images).toBeGreaterThan(40);
    expect(instructions).toBeGreaterThan(5000);
  }, 180_000);
});
