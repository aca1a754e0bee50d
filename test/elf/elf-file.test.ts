import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EM, parseElf, SHT, type ElfFile } from "../../src/elf/elf-file.js";
import { isParseError } from "../../src/errors.js";
import { hasTool } from "../helpers/kernel.js";

const readelf = hasTool("llvm-readelf-19") ? "llvm-readelf-19" : undefined;
const clang = hasTool("clang-19") ? "clang-19" : undefined;
const dir = mkdtempSync(join(tmpdir(), "tsbpf-elf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SRC = `
int g = 5; static int s; const volatile int k = 3; char buf[32];
static __attribute__((noinline)) int sub(int x) { return x + g + s; }
__attribute__((section("xdp"))) int prog(void *ctx) { buf[1] = 1; return sub(k); }
char LICENSE[] __attribute__((section("license"))) = "GPL";
`;

function build(target: string, name: string, extra: string[] = []): string {
  const c = join(dir, `${name}.c`);
  const o = join(dir, `${name}.o`);
  writeFileSync(c, SRC);
  execFileSync(clang!, ["-O2", "-g", "-target", target, ...extra, "-c", c, "-o", o]);
  return o;
}

interface RE {
  Sections: { Section: { Index: number; Name: { Name: string }; Type: { Value: number }; Flags: { Value: number }; Offset: number; Size: number; Link: number; Info: number; AddressAlignment: number; EntrySize: number } }[];
  Symbols: { Symbol: { Name: { Name: string }; Value: number; Size: number; Binding: { Value: number }; Type: { Value: number }; Other: { Value: number }; Section: { Value: number } } }[];
  Relocations: { SectionIndex: number; Relocs: { Relocation: { Offset: number; Type: { Value: number }; Symbol: { Name: string } } }[] }[];
}

function reference(path: string): RE {
  const out = execFileSync(readelf!, ["--elf-output-style=JSON", "-S", "--symbols", "-r", path], { encoding: "utf8" });
  return JSON.parse(out)[0] as RE;
}

function agree(f: ElfFile, ref: RE): void {
  expect(f.sections.length).toBe(ref.Sections.length);
  for (const { Section: s } of ref.Sections) {
    const mine = f.sections[s.Index];
    expect({
      name: mine.name, type: mine.type, flags: mine.flags, offset: mine.offset, size: mine.size,
      link: mine.link, info: mine.info, addralign: mine.addralign, entsize: mine.entsize,
    }).toEqual({
      name: s.Name.Name, type: s.Type.Value, flags: s.Flags.Value >>> 0, offset: s.Offset, size: s.Size,
      link: s.Link, info: s.Info, addralign: s.AddressAlignment, entsize: s.EntrySize,
    });
    expect(mine.data.length).toBe(mine.type === SHT.NOBITS || mine.type === SHT.NULL ? 0 : s.Size);
  }
  expect(f.symbols.length).toBe(ref.Symbols.length);
  ref.Symbols.forEach(({ Symbol: s }, i) => {
    const mine = f.symbols[i];
    // llvm-readelf names section symbols after their section; the symbol's own name is empty.
    if (s.Type.Value !== 3) expect(mine.name).toBe(s.Name.Name);
    expect([mine.value, mine.size, mine.bind, mine.type, mine.visibility, mine.sectionIndex]).toEqual([
      s.Value, s.Size, s.Binding.Value, s.Type.Value, s.Other.Value & 3, s.Section.Value,
    ]);
  });
  for (const group of ref.Relocations) {
    const relSec = f.sections[group.SectionIndex];
    const rels = f.relocations(relSec);
    expect(rels.map((r) => [r.offset, r.type])).toEqual(group.Relocs.map(({ Relocation: r }) => [r.Offset, r.Type.Value]));
    // A target section gathers the relocations of every section that points at it.
    const target = f.sections[relSec.info];
    expect(f.relocations(target).length).toBeGreaterThanOrEqual(rels.length);
  }
}

describe.runIf(readelf && clang)("parseElf agrees with llvm-readelf", () => {
  it("little-endian BPF object (ELF64)", () => {
    const o = build("bpfel", "le");
    const f = parseElf(readFileSync(o));
    expect([f.class, f.byteOrder, f.machine, f.type]).toEqual([64, "little", EM.BPF, 1]);
    agree(f, reference(o));
    const prog = f.symbols.find((s) => s.name === "prog")!;
    expect(f.sections[prog.sectionIndex].name).toBe("xdp");
    expect(f.sectionByName(".bss")!.type).toBe(SHT.NOBITS);
    expect(f.sectionByName(".bss")!.data.length).toBe(0);
    expect(f.sectionByName(".bss")!.size).toBe(32);
  });
  it("big-endian BPF object", () => {
    const o = build("bpfeb", "be");
    const f = parseElf(readFileSync(o));
    expect([f.class, f.byteOrder, f.machine]).toEqual([64, "big", EM.BPF]);
    agree(f, reference(o));
  });
  it("ELF32 i386 object (SHT_REL with 8-byte entries)", () => {
    const o = build("i386-linux-gnu", "x32");
    const f = parseElf(readFileSync(o));
    expect([f.class, f.byteOrder, f.machine]).toEqual([32, "little", 3]);
    agree(f, reference(o));
  });
  it("x86_64 relocatable object with RELA", () => {
    const o = build("x86_64-linux-gnu", "x64");
    const f = parseElf(readFileSync(o));
    expect([f.class, f.machine]).toEqual([64, EM.X86_64]);
    agree(f, reference(o));
    expect(f.sections.some((s) => s.type === SHT.RELA)).toBe(true);
  });
  it("x86_64 executable: sections, segments", () => {
    const exe = process.execPath;
    const bytes = readFileSync(exe);
    const f = parseElf(bytes);
    expect(f.type === 2 || f.type === 3).toBe(true);
    expect(f.segments.some((s) => s.type === 1)).toBe(true);
    const out = execFileSync(readelf!, ["--elf-output-style=JSON", "-S", exe], { encoding: "utf8", maxBuffer: 1 << 26 });
    const ref = JSON.parse(out)[0] as RE;
    expect(f.sections.map((s) => s.name)).toEqual(ref.Sections.map((s) => s.Section.Name.Name));
  });
});

describe("parseElf refuses malformed headers with ParseError", () => {
  const good = (() => {
    // A minimal valid ELF64 LE header with one null section and a string table.
    const b = new Uint8Array(64 + 3 * 64 + 16);
    const v = new DataView(b.buffer);
    b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    v.setUint16(16, 1, true);
    v.setUint16(18, 247, true);
    v.setBigUint64(40, 64n, true); // shoff
    v.setUint16(58, 64, true); // shentsize
    v.setUint16(60, 3, true); // shnum
    v.setUint16(62, 1, true); // shstrndx
    const str = 64 + 3 * 64;
    b.set([0, 0x2e, 0x73, 0x68, 0, 0x2e, 0x62, 0x73, 0x73, 0], str); // "", ".sh", ".bss"
    // section 1: .shstrtab
    v.setUint32(64 + 64, 1, true);
    v.setUint32(64 + 64 + 4, 3, true);
    v.setBigUint64(64 + 64 + 24, BigInt(str), true);
    v.setBigUint64(64 + 64 + 32, 10n, true);
    // section 2: .bss, NOBITS with a size far past the file
    v.setUint32(64 + 128, 5, true);
    v.setUint32(64 + 128 + 4, 8, true);
    v.setBigUint64(64 + 128 + 24, 999999n, true);
    v.setBigUint64(64 + 128 + 32, 4096n, true);
    v.setBigUint64(64 + 128 + 48, 16n, true); // addralign
    v.setBigUint64(64 + 128 + 56, 0n, true);
    return b;
  })();
  const mutate = (f: (b: Uint8Array, v: DataView) => void) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  const fails = (b: Uint8Array, pattern: RegExp) => {
    let err: unknown;
    try {
      parseElf(b);
    } catch (e) {
      err = e;
    }
    expect(isParseError(err), String(err)).toBe(true);
    expect((err as Error).message).toMatch(pattern);
  };
  it("the minimal file parses; NOBITS has no data, addralign is read at the right offset", () => {
    const f = parseElf(good);
    expect(f.sections.map((s) => s.name)).toEqual(["", ".sh", ".bss"]);
    expect(f.sections[2].data.length).toBe(0);
    expect(f.sections[2].size).toBe(4096);
    expect(f.sections[2].addralign).toBe(16);
    expect(f.symbols).toEqual([]);
  });
  it("bad magic, class, byte order, short files", () => {
    fails(mutate((b) => (b[1] = 0)), /magic/);
    fails(mutate((b) => (b[4] = 3)), /class/);
    fails(mutate((b) => (b[5] = 0)), /byte order/);
    fails(good.subarray(0, 10), /too short/);
    fails(good.subarray(0, 40), /too short/);
  });
  it("bad shstrndx (elfy would throw AssertionError/TypeError)", () => {
    fails(mutate((_b, v) => v.setUint16(62, 7, true)), /shstrndx/);
    fails(mutate((_b, v) => v.setUint16(62, 2, true)), /not SHT_STRTAB/);
    fails(mutate((_b, v) => v.setUint16(62, 0xffff, true)), /SHN_XINDEX/);
  });
  it("tables and sections past the end, small entry sizes", () => {
    fails(mutate((_b, v) => v.setUint16(60, 300, true)), /section header table/);
    fails(mutate((_b, v) => v.setBigUint64(40, 1n << 60n, true)), /too large/);
    fails(mutate((_b, v) => v.setUint16(58, 8, true)), /e_shentsize/);
    fails(mutate((_b, v) => v.setBigUint64(64 + 64 + 32, 100000n, true)), /runs past the end/);
    fails(mutate((_b, v) => { v.setBigUint64(32, 64n, true); v.setUint16(56, 1000, true); v.setUint16(54, 56, true); }), /program header table/);
    fails(mutate((_b, v) => { v.setBigUint64(32, 64n, true); v.setUint16(56, 1, true); v.setUint16(54, 3, true); }), /e_phentsize/);
  });
  it("a non-Uint8Array input", () => {
    fails("hello" as unknown as Uint8Array, /not a Uint8Array/);
  });
});
