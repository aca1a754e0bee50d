import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isParseError } from "../../src/errors.js";
import { marshalFuncInfo, marshalLineInfo, parseBtfExt } from "../../src/btf/ext.js";
import { BtfBuilder } from "../../src/btf/marshal.js";
import { parseBtf } from "../../src/btf/spec.js";

const path = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const fixture = (name: string) => readFileSync(path(name));
// CI runs 100,000 mutated blobs (10,000 x 10); a local run a few thousand. TSBPF_FUZZ_RUNS overrides.
const RUNS = Number(process.env.TSBPF_FUZZ_RUNS ?? (process.env.CI ? 10_000 : 300));

describe("parseBtfExt", () => {
  const btf = parseBtf(fixture("kinds.bpfel.btf"));
  const ext = parseBtfExt(fixture("kinds.bpfel.btf.ext"), btf);

  it("reads func info naming each function's BTF", () => {
    const fn = (sec: string) => ext.funcInfo.get(sec)!.map((f) => ({ insn: f.insn, name: btf.nameOf(f.typeId), kind: btf.kindOf(f.typeId) }));
    expect(fn("socket")).toEqual([{ insn: 0, name: "prog", kind: "func" }]);
    const text = fn(".text");
    expect(text.map((f) => f.name).sort()).toEqual(["global_fn", "helper"]);
    expect(text[0].insn).toBe(0);
  });

  it("reads line info with file, source text, line and column", () => {
    const lines = ext.lineInfo.get("socket")!;
    expect(lines.length).toBeGreaterThan(3);
    expect(lines[0].insn).toBe(0);
    expect(lines.every((l) => l.file.endsWith("kinds.c"))).toBe(true);
    const src = readFileSync(path("kinds.c"), "utf8").split("\n");
    for (const l of lines) expect(src[l.line - 1]).toBe(l.text);
    expect(lines.some((l) => l.text.includes("bpf_map_lookup_elem"))).toBe(true);
  });

  it("reads CO-RE relocation records (preserve_access_index struct)", () => {
    const relos = [...ext.coreRelos.values()].flat();
    expect(relos.length).toBeGreaterThan(0);
    for (const r of relos) {
      expect(r.kind).toBe("field_byte_offset");
      expect(btf.nameOf(r.typeId)).toMatch(/^(holder|bits|)$/);
      expect(r.accessString).toMatch(/^\d+(:\d+)*$/);
    }
  });

  it("reads big-endian .BTF.ext to the same records", () => {
    const be = parseBtfExt(fixture("kinds.bpfeb.btf.ext"), parseBtf(fixture("kinds.bpfeb.btf")));
    expect(be.funcInfo).toEqual(ext.funcInfo);
    // code generation for bitfields differs between byte orders, so compare what, not where
    const strip = (m: typeof ext.coreRelos) => [...m].map(([k, rs]) => [k, rs.map(({ insn: _, ...r }) => r)]);
    expect(strip(be.coreRelos)).toEqual(strip(ext.coreRelos));
    expect([...be.lineInfo.keys()]).toEqual([...ext.lineInfo.keys()]);
  });

  it("refuses a byte order that differs from the .BTF's", () => {
    expect(() => parseBtfExt(fixture("kinds.bpfeb.btf.ext"), btf)).toThrow(/byte order/);
  });

  it("gives ParseErrors with offsets for hostile input", () => {
    const good = fixture("kinds.bpfel.btf.ext");
    const b = Uint8Array.from(good);
    const dv = new DataView(b.buffer);
    // func info: first group's record count made absurd
    const funcStart = dv.getUint32(4, true) + dv.getUint32(8, true);
    dv.setUint32(funcStart + 4 + 4, 0x10000000, true);
    try {
      parseBtfExt(b, btf);
      expect.unreachable();
    } catch (e) {
      expect(isParseError(e)).toBe(true);
      expect((e as Error).message).toContain("more than fit");
    }
    for (let n = 0; n < good.length; n += 7) {
      const cut = good.subarray(0, n);
      expect(() => parseBtfExt(cut, btf)).toThrow(/BTF.ext/);
    }
  });

  it("mutated .BTF.ext ends in records or a ParseError", () => {
    const good = fixture("kinds.bpfel.btf.ext");
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat(), word: fc.oneof(fc.nat(), fc.constantFrom(0, 0xffffffff, 8, 16, 0x7fffffff)) }), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = Uint8Array.from(good);
        const dv = new DataView(b.buffer);
        for (const e of edits) dv.setUint32((e.at % (b.length - 3)) & ~3, e.word >>> 0, true);
        try {
          parseBtfExt(b, btf);
        } catch (e) {
          if (!isParseError(e)) throw e;
        }
      }),
      { numRuns: RUNS * 10 },
    );
  });
});

describe("func and line info marshalling", () => {
  it("writes the kernel's record layout", () => {
    const f = marshalFuncInfo([{ insn: 0, typeId: 5 }, { insn: 12, typeId: 9 }]);
    expect([...new Uint32Array(f.buffer)]).toEqual([0, 5, 12, 9]);
    const b = new BtfBuilder();
    const l = marshalLineInfo([{ insn: 3, file: "a.c", text: "x = 1;", line: 7, column: 5 }], (s) => b.addString(s));
    const w = new Uint32Array(l.buffer);
    expect(w[0]).toBe(3);
    expect(w[3]).toBe((7 << 10) | 5);
    const spec = parseBtf(b.marshal());
    expect(spec.string(w[1])).toBe("a.c");
    expect(spec.string(w[2])).toBe("x = 1;");
    expect(() => marshalLineInfo([{ insn: 0, file: "", text: "", line: 1 << 22, column: 0 }], () => 0)).toThrow(RangeError);
  });
});

