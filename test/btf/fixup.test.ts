import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ALL_BTF_FEATURES, fixupDatasecs, sanitizeBtf, type BtfFeatures } from "../../src/btf/fixup.js";
import { marshalBtf } from "../../src/btf/marshal.js";
import { typeSize } from "../../src/btf/query.js";
import { parseBtf } from "../../src/btf/spec.js";
import type { BtfType } from "../../src/btf/types.js";

const spec = parseBtf(readFileSync(fileURLToPath(new URL("./fixtures/kinds.bpfel.btf", import.meta.url))));
const types = [...spec];

/** The layout llvm-objdump shows for the fixture object (sizes and symbol values). */
const layout = {
  sections: { ".bss": 36, ".data": 16, ".maps": 32, ".rodata": 4, license: 4 } as Record<string, number>,
  symbols: { counter: 0, ratio: 4, ratio_ptr: 8, buf: 0, hidden: 32, holders: 0, limit: 0, LICENSE: 0 } as Record<string, number>,
  sectionSize(s: string) {
    return this.sections[s];
  },
  variableOffset(_s: string, v: string) {
    return this.symbols[v];
  },
};

export function fixedKinds(): BtfType[] {
  return fixupDatasecs(types, layout);
}

describe("fixupDatasecs", () => {
  it("sets datasec sizes and variable offsets from the ELF facts, sorted by offset", () => {
    const fixed = fixupDatasecs(types, layout);
    const data = fixed.find((t) => t.kind === "datasec" && t.name === ".data")!;
    expect(data).toMatchObject({ size: 16 });
    if (data.kind !== "datasec") throw new Error();
    expect(data.vars.map((v) => [spec.nameOf(v.type), v.offset, v.size])).toEqual([
      ["counter", 0, 4],
      ["ratio", 4, 4],
      ["ratio_ptr", 8, 8],
    ]);
    // the input (and the spec's cached types) are untouched
    expect(spec.typeByName(".data", "datasec")!.size).toBe(0);
    expect(fixed.map((t) => t.id)).toEqual(types.map((t) => t.id));
  });

  it("names the missing section or symbol", () => {
    expect(() => fixupDatasecs(types, { ...layout, sectionSize: () => undefined })).toThrow(/no section "\.bss"/);
    expect(() => fixupDatasecs(types, { ...layout, variableOffset: () => undefined })).toThrow(/variable "buf"/);
  });
});

describe("sanitizeBtf", () => {
  it("changes nothing when every feature is present", () => {
    expect(sanitizeBtf(types, ALL_BTF_FEATURES)).toEqual(types);
  });

  it("replaces every newer kind, keeping ids and sizes", () => {
    const none: BtfFeatures = { func: false, funcGlobal: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false };
    const fixed = sanitizeBtf(fixupDatasecs(types, layout), none);
    const kinds = new Set(fixed.map((t) => t.kind));
    for (const k of ["var", "datasec", "func", "func_proto", "float", "decl_tag", "type_tag", "enum64"]) expect(kinds.has(k as never)).toBe(false);
    for (const t of types) expect(fixed[t.id - 1].id).toBe(t.id);
    const reparsed = parseBtf(marshalBtf(fixed));
    const holder = spec.typeByName("holder", "struct")!;
    expect(typeSize(reparsed, holder.id)).toBe(holder.size);
    const big = spec.typeByName("big", "enum64")!;
    expect(typeSize(reparsed, big.id)).toBe(8);
    expect(reparsed.typeById(spec.typeByName("float", "float")!.id)).toMatchObject({ kind: "struct", size: 4, members: [] });
  });

  it("only demotes global functions when global funcs are missing", () => {
    const fixed = sanitizeBtf(types, { ...ALL_BTF_FEATURES, funcGlobal: false });
    expect(fixed.filter((t) => t.kind === "func").every((t) => t.kind === "func" && t.linkage === "static")).toBe(true);
  });
});
