import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { asm } from "../../src/asm/assembler.js";
import * as b from "../../src/asm/builder.js";
import { decodeForListing, disassemble } from "../../src/asm/disassemble.js";
import { encodeInstructions } from "../../src/asm/encoding.js";
import { disassembleObject } from "../../src/cli/disasm.js";
import { cli } from "../cli/run.js";
import { isParseError } from "../../src/errors.js";
import { readdirSync, readFileSync } from "node:fs";

const root = join(import.meta.dirname, "../..");

const capture = (args: string[]) => cli("disasm", ...args);

afterEach(() => vi.restoreAllMocks());

describe("tsbpf disasm", () => {
  it("prints the listing of an object and filters sections by --section, --section= and -j", async () => {
    const file = join(root, "bpf/subprograms.o");
    const all = await capture([file]);
    expect(all.code).toBe(0);
    expect(all.out).toContain("Disassembly of section .text:");
    expect(all.out).toContain("Disassembly of section xdp:");
    for (const args of [["--section", "xdp"], ["--section=xdp"], ["-j", "xdp"]]) {
      const one = await capture([file, ...args]);
      expect(one.out).toContain("Disassembly of section xdp:");
      expect(one.out).not.toContain("Disassembly of section .text:");
      expect(one.out).toContain("<calc_xdp>:");
    }
  });

  it.each([
    [[], "missing <object.o>"],
    [["--section"], "Option '-j, --section <value>' argument missing"],
    [["a.o", "b.o"], 'unexpected argument "b.o"'],
    [["--bogus", "a.o"], "Unknown option '--bogus'"],
  ])("exits 2 with a usage message for %j", async (args, message) => {
    const r = await capture(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it("reports an unreadable file and exits 1", async () => {
    const r = await capture([join(root, "bpf/does-not-exist.o")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("cannot read");
  });

  it("throws ParseError for an ELF file that is not BPF, and for non-ELF bytes", () => {
    for (const bytes of [readFileSync(process.execPath).subarray(0, 1 << 20), new Uint8Array(100)]) {
      try {
        disassembleObject(bytes);
        expect.unreachable();
      } catch (e) {
        expect(isParseError(e)).toBe(true);
      }
    }
  });

  it("--json (and --pretty) prints the same listing as the text, section by section", async () => {
    const objects = readdirSync(join(root, "bpf")).filter((f) => f.endsWith(".o")).map((f) => `bpf/${f}`);
    objects.push("bpf/asm/memory.o");
    expect(objects.length).toBeGreaterThan(5);
    let seen = { sym: 0, src: 0, notes: 0 };
    for (const file of objects) {
      for (const flags of [[], ["--helpers", "--maps", "--source"]]) {
        const text = await capture([join(root, file), ...flags]);
        const json = await capture([join(root, file), ...flags, "--json"]);
        expect(json.code, `${file} ${flags.join(" ")}`).toBe(0);
        const doc = JSON.parse(json.out) as { section: string; insns: { sym?: string; src?: string; disasm: string; pc: number }[] }[];
        // Rebuild llvm-objdump's layout from the JSON alone: it must be the text, byte for byte.
        const lines = ["", `${join(root, file)}:\tfile format elf64-bpf`];
        for (const { section, insns } of doc) {
          lines.push("", `Disassembly of section ${section}:`, "");
          insns.forEach((i, n) => {
            if (i.sym !== undefined) lines.push(...(n === 0 ? [] : [""]), `${(i.pc * 8).toString(16).padStart(16, "0")} <${i.sym}>:`);
            if (i.src !== undefined) lines.push(`; ${i.src}`);
            lines.push(`${String(i.pc).padStart(8)}:\t${i.disasm}`);
          });
          seen = { sym: seen.sym + insns.filter((i) => i.sym).length, src: seen.src + insns.filter((i) => i.src).length, notes: seen.notes + insns.filter((i) => i.disasm.includes(" ; ")).length };
        }
        expect(`${lines.join("\n")}\n`, `${file} ${flags.join(" ")}`).toBe(text.out);
      }
    }
    expect(seen.sym).toBeGreaterThan(10);
    expect(seen.src).toBeGreaterThan(10);
    expect(seen.notes).toBeGreaterThan(5);
    // -j stays llvm-objdump's --section; --pretty is indented JSON of the same document.
    const file = join(root, "bpf/subprograms.o");
    const pretty = await capture([file, "-j", "xdp", "--pretty"]);
    expect(pretty.out).toMatch(/^\[\n    \{\n        "section": "xdp",/);
    expect(JSON.parse(pretty.out)).toEqual(JSON.parse((await capture([file, "--section", "xdp", "--json"])).out));
    expect(JSON.parse(pretty.out).map((s: { section: string }) => s.section)).toEqual(["xdp"]);
  });

  it("annotates helper calls, relocation targets and source lines when asked", () => {
    const out = disassembleObject(readFileSync(join(root, "bpf/asm/memory.o")), { helpers: true, maps: true, source: true });
    expect(out).toMatch(/call 0x1 ; bpf_map_lookup_elem$/m);
    expect(out).toMatch(/r1 = 0x0 ll ; counts$/m);
    expect(out).toMatch(/call -0x1 ; twice$/m);
    expect(out).toMatch(/call -0x1 ; bpf_task_from_pid$/m);
    expect(out).toMatch(/^; int mem\(struct __sk_buff \*skb\)$/m);
  });
});

describe("disassemble", () => {
  it("lays out an instruction list with its labels as llvm-objdump would", () => {
    const list = asm`
    prog:
      r0 = 0x0
      if r1 == 0x0 goto +0x1
      call 0x5
    out:
      exit
    `;
    expect(disassemble(list, { helpers: true })).toBe(
      [
        "0000000000000000 <prog>:",
        "       0:\tr0 = 0x0",
        "       1:\tif r1 == 0x0 goto +0x1 <out>",
        "       2:\tcall 0x5 ; bpf_ktime_get_ns",
        "",
        "0000000000000018 <out>:",
        "       3:\texit",
      ].join("\n"),
    );
  });

  it("names references in the tsbpf dialect and shows invalid slots as <unknown>", () => {
    const list = b.instructions(b.ldMapFd(b.R1, "counts"), b.ja("end"), b.label("end"), b.exit());
    expect(disassemble(list, { dialect: "tsbpf" })).toContain("r1 = map(counts) ll");
    expect(disassemble(list, { dialect: "tsbpf" })).toContain("goto end");
    expect(disassemble(list, { maps: true })).toContain("ld_pseudo\tr1, 0x1, 0x0 ; counts");
    const bytes = encodeInstructions([b.exit()]);
    const slots = decodeForListing(Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0, ...bytes]));
    expect(disassemble(slots)).toBe("       0:\t<unknown>\n       1:\texit");
  });

  it("prints source lines once per line change", () => {
    const src = { file: "a.c", line: 3, column: 1, text: "  return 0;" };
    const list = [{ ...b.mov64(b.R0, 0), source: src }, { ...b.exit(), source: src }];
    expect(disassemble(list, { source: true })).toBe("; return 0;\n       0:\tr0 = 0x0\n       1:\texit");
  });
});
