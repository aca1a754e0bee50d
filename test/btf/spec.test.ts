import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isParseError, ParseError } from "../../src/errors.js";
import { marshalBtf } from "../../src/btf/marshal.js";
import { skipQualifiers, typeSize, typeAlignment } from "../../src/btf/query.js";
import { essentialName, parseBtf } from "../../src/btf/spec.js";
import type { BtfTypeInit } from "../../src/btf/types.js";
import { bpftoolTypes, hasBpftool, toBpftool } from "./helpers/bpftool-json.js";
import { hasKernelBtf } from "../helpers/kernel.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const kindsLe = readFileSync(fixture("kinds.bpfel.btf"));
const kindsBe = readFileSync(fixture("kinds.bpfeb.btf"));
const VMLINUX = "/sys/kernel/btf/vmlinux";
const hasVmlinux = hasKernelBtf;

function parseErrorOf(f: () => unknown): ParseError {
  try {
    f();
  } catch (e) {
    if (isParseError(e)) return e;
    throw new Error(`expected a ParseError, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a ParseError, nothing was thrown");
}

describe("parseBtf on clang's object BTF", () => {
  it.skipIf(!hasBpftool)("reads every type as libbpf (bpftool) does, little-endian", () => {
    const spec = parseBtf(kindsLe);
    expect(spec.byteOrder).toBe("little");
    const ref = bpftoolTypes(fixture("kinds.bpfel.btf"));
    expect([...spec].map(toBpftool)).toEqual(ref);
  });

  it.skipIf(!hasBpftool)("reads big-endian BTF to the same types", () => {
    const le = parseBtf(kindsLe);
    const be = parseBtf(kindsBe);
    expect(be.byteOrder).toBe("big");
    expect([...be]).toEqual([...le]);
  });

  it("covers every BTF kind of Linux 6.18", () => {
    const kinds = new Set([...parseBtf(kindsLe)].map((t) => t.kind));
    expect([...kinds].sort()).toEqual(
      ["array", "const", "datasec", "decl_tag", "enum", "enum64", "float", "func", "func_proto", "fwd", "int", "ptr",
        "restrict", "struct", "type_tag", "typedef", "union", "var", "volatile"].sort(),
    );
  });

  it("answers queries by id, name, kind and essential name", () => {
    const spec = parseBtf(kindsLe);
    const holder = spec.typeByName("holder", "struct")!;
    expect(holder.kind).toBe("struct");
    expect(spec.typeById(holder.id)).toBe(holder);
    expect(spec.nameOf(holder.id)).toBe("holder");
    expect(spec.kindOf(holder.id)).toBe("struct");
    expect(holder.members.map((m) => m.name)).toContain("matrix");
    expect(spec.typeByName("holder", "union")).toBeUndefined();
    expect(spec.idsByName("nope")).toEqual([]);
    expect(spec.findByName("int").map((t) => t.kind)).toEqual(["int"]);
    // essential-name search finds `bits` for a flavored local name
    expect(spec.idsByEssentialName("bits___v2", "struct")).toEqual(spec.idsByName("bits", "struct"));
    const structs = [...spec.typesOfKind("struct")];
    expect(structs.length).toBeGreaterThan(3);
    expect(structs.every((t) => t.kind === "struct")).toBe(true);
    expect(spec.typeById(0)).toMatchObject({ kind: "void" });
    expect(() => spec.typeById(spec.nextId)).toThrow(RangeError);
    // after enough lookups the hash index takes over and gives the same answers
    for (let i = 0; i < 10; i++) expect(spec.idsByName("holder", "struct")).toEqual([holder.id]);
  });

  it("resolves sizes, alignment and qualifiers", () => {
    const spec = parseBtf(kindsLe);
    const holder = spec.typeByName("holder", "struct")!;
    const m = (n: string) => holder.members.find((x) => x.name === n)!;
    expect(typeSize(spec, m("matrix").type)).toBe(48);
    expect(skipQualifiers(spec, m("cv").type)).toMatchObject({ kind: "int", name: "int" });
    expect(typeSize(spec, m("bits").type)).toBe(24);
    expect(typeSize(spec, m("cb").type)).toBe(8);
    expect(typeAlignment(spec, m("a").type)).toBe(4); // aligned(16) is not visible in BTF
    expect(typeSize(spec, holder.id)).toBe(holder.size);
  });
});

describe("essentialName", () => {
  it("strips the last ___flavor as libbpf does", () => {
    expect(essentialName("task_struct___old")).toBe("task_struct");
    expect(essentialName("a___b___c")).toBe("a___b");
    expect(essentialName("plain")).toBe("plain");
    expect(essentialName("___x")).toBe("___x");
    expect(essentialName("x____y")).toBe("x____y");
  });
});

describe.skipIf(!hasVmlinux)("parseBtf on kernel BTF", () => {
  it.skipIf(!hasBpftool)("reads all of vmlinux as bpftool does", () => {
    const spec = parseBtf(readFileSync(VMLINUX), { lazy: true });
    const ref = bpftoolTypes(VMLINUX);
    expect(spec.typeCount).toBe(ref.length);
    let mismatches = 0;
    let i = 0;
    for (const t of spec) {
      const a = JSON.stringify(toBpftool(t));
      const b = JSON.stringify(ref[i++]);
      if (a !== b && mismatches++ < 3) expect(a).toBe(b);
    }
    expect(mismatches).toBe(0);
  });

  it("finds kernel structs by name and kind", () => {
    const spec = parseBtf(readFileSync(VMLINUX), { lazy: true });
    const ts = spec.typeByName("task_struct", "struct")!;
    expect(ts.size).toBeGreaterThan(1000);
    expect(ts.members.some((m) => m.name === "pid")).toBe(true);
    expect(spec.typeByName("bpf_map_type", "enum")!.values.some((v) => v.name === "BPF_MAP_TYPE_HASH")).toBe(true);
  });
});

// A hand-made blob: int, ptr -> int, struct with one member.
const small: BtfTypeInit[] = [
  { kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 },
  { kind: "ptr", name: "", type: 1 },
  { kind: "struct", name: "s", size: 8, members: [{ name: "p", type: 2, bitOffset: 0, bitfieldSize: 0 }] },
];

describe("parseBtf on malformed input", () => {
  const good = marshalBtf(small);

  it("gives a ParseError for every truncation", () => {
    for (let n = 0; n < good.length; n++) {
      const cut = good.slice(0, n);
      // fix up the header lengths too, so the cut lands inside sections and records
      const e = parseErrorOf(() => parseBtf(cut));
      expect(e.offset).toBeTypeOf("number");
    }
  });

  it("rejects a bad magic, version and header length with their offsets", () => {
    const b = good.slice();
    b[0] = 0;
    expect(parseErrorOf(() => parseBtf(b)).offset).toBe(0);
    const v = good.slice();
    v[2] = 2;
    expect(parseErrorOf(() => parseBtf(v)).message).toContain("version 2");
    const h = good.slice();
    new DataView(h.buffer).setUint32(4, 1 << 30, true);
    expect(parseErrorOf(() => parseBtf(h)).offset).toBe(4);
  });

  it("rejects absurd section lengths", () => {
    const h = good.slice();
    new DataView(h.buffer).setUint32(12, 0xfffffff0, true);
    expect(parseErrorOf(() => parseBtf(h)).message).toContain("type section");
    const s = good.slice();
    new DataView(s.buffer).setUint32(16, 0xfffffff0, true);
    expect(parseErrorOf(() => parseBtf(s)).message).toContain("string section");
  });

  it("rejects a record whose vlen runs past the type section", () => {
    const b = good.slice();
    const dv = new DataView(b.buffer);
    const structAt = 24 + 16 + 12; // int (16) + ptr (12)
    dv.setUint32(structAt + 4, (4 << 24) | 0xffff, true);
    const e = parseErrorOf(() => parseBtf(b));
    expect(e.offset).toBe(structAt);
    expect(e.message).toMatch(/needs \d+ bytes/);
  });

  it("rejects a name offset outside the string table", () => {
    const b = good.slice();
    new DataView(b.buffer).setUint32(24, 0x7fffffff, true);
    const e = parseErrorOf(() => parseBtf(b));
    expect(e.offset).toBe(24);
    expect(e.message).toContain("name offset");
  });

  it("rejects a type id out of range, eagerly or on first decode when lazy", () => {
    const b = good.slice();
    const ptrAt = 24 + 16;
    new DataView(b.buffer).setUint32(ptrAt + 8, 99, true);
    const e = parseErrorOf(() => parseBtf(b));
    expect(e.message).toContain("type id 99");
    expect(e.offset).toBe(ptrAt + 8);
    const lazy = parseBtf(b, { lazy: true });
    expect(lazy.typeById(1).kind).toBe("int");
    expect(parseErrorOf(() => lazy.typeById(2)).message).toContain("type id 99");
  });

  it("rejects unknown kinds and invalid ints", () => {
    const b = good.slice();
    new DataView(b.buffer).setUint32(24 + 4, 25 << 24, true);
    expect(parseErrorOf(() => parseBtf(b)).message).toContain("unknown kind 25");
    const i = good.slice();
    new DataView(i.buffer).setUint32(24 + 12, 200, true); // 200 bits in 4 bytes
    expect(parseErrorOf(() => parseBtf(i)).message).toContain("do not fit");
  });

  it("does not hang on reference loops", () => {
    // typedef a -> typedef b -> typedef a
    const loop = marshalBtf([
      { kind: "typedef", name: "a", type: 2 },
      { kind: "typedef", name: "b", type: 1 },
      { kind: "array", name: "", type: 3, indexType: 0, nelems: 2 },
    ]);
    const spec = parseBtf(loop);
    expect(spec.typeCount).toBe(3);
    expect(parseErrorOf(() => skipQualifiers(spec, 1)).message).toContain("loop");
    expect(parseErrorOf(() => typeSize(spec, 3)).message).toContain("loop");
  });

  it("rejects unknown options", () => {
    expect(() => parseBtf(good, { lazzy: true } as never)).toThrow(/unknown option "lazzy"/);
  });
});

describe("name index", () => {
  // names over a small alphabet rich in underscores, so that ___flavor cuts of every shape occur
  const arbName = fc.stringMatching(/^[ab_é]{0,9}$/);
  const arbKind = fc.constantFrom("fwd", "struct", "enum");
  const toType = (kind: string, name: string): BtfTypeInit =>
    kind === "fwd"
      ? { kind: "fwd", name, union: false }
      : kind === "struct"
        ? { kind: "struct", name, size: 0, members: [] }
        : { kind: "enum", name, size: 4, signed: false, values: [] };

  it("gives, indexed, what a brute-force filter by (essential) name gives, in either byte order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbKind, arbName), { maxLength: 40 }),
        fc.array(arbName, { maxLength: 6 }),
        fc.constantFrom("little" as const, "big" as const),
        (decls, queries, byteOrder) => {
          const spec = parseBtf(marshalBtf(decls.map(([k, n]) => toType(k, n)), { byteOrder }), { lazy: true });
          const ids = Array.from({ length: spec.typeCount }, (_, i) => i + 1);
          const names = [...new Set([...decls.map(([, n]) => n), ...queries])];
          const byEssential = (kinds: readonly string[]) =>
            names.map((name) => {
              const ess = essentialName(name);
              return ess === "" ? [] : ids.filter((id) => kinds.includes(spec.kindOf(id)) && essentialName(spec.nameOf(id)) === ess);
            });
          // the batch lookup, first by one scan (no index yet), later through the index
          for (const kinds of [["struct"], ["fwd", "enum"]] as const) expect(spec.idsByEssentialNames(names, kinds)).toEqual(byEssential(kinds));
          for (const name of names) {
            const ess = essentialName(name);
            for (const kind of [undefined, "fwd", "struct", "enum"] as const) {
              const ofKind = (id: number) => kind === undefined || spec.kindOf(id) === kind;
              const want = ess === "" ? [] : ids.filter((id) => ofKind(id) && essentialName(spec.nameOf(id)) === ess);
              expect(spec.idsByEssentialName(name, kind), `essential ${JSON.stringify(name)} ${kind}`).toEqual(want);
              const exact = name === "" ? [] : ids.filter((id) => ofKind(id) && spec.nameOf(id) === name);
              // five rounds: the first lookups scan linearly, later ones use the index
              for (let r = 0; r < 5; r++) expect(spec.idsByName(name, kind), `exact ${JSON.stringify(name)} ${kind}`).toEqual(exact);
            }
          }
          expect(spec.idsByEssentialNames(names, ["fwd", "enum"])).toEqual(byEssential(["fwd", "enum"]));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("string decoding", () => {
  it("gives the same names before and after switching to the whole-table decode, ASCII or not", () => {
    for (const suffix of ["", "é✓"]) {
      const types: BtfTypeInit[] = Array.from({ length: 3000 }, (_, i) => ({ kind: "fwd", name: `t${i}${suffix}`, union: false }));
      const spec = parseBtf(marshalBtf(types), { lazy: true });
      for (let pass = 0; pass < 2; pass++) {
        let i = 0;
        for (const t of spec) expect(t.name).toBe(`t${i++}${suffix}`);
      }
    }
  });
});
