/**
 * Lazy own accessors on parse results share one getter per field across objects (see
 * src/elf/hidden-slot.ts: a fresh getter per object gave each object its own V8 map and kept
 * every parse alive through young GCs). They must still behave as the per-object getters did:
 * own, enumerable, in the same key order, lazy, and (for .bss contents) assignable.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { zeroContentsUntouched } from "../../src/elf/data-sections.js";
import { parseElf } from "../../src/elf/elf-file.js";
import { hiddenSlot } from "../../src/elf/hidden-slot.js";

const bytes = (n: string) => new Uint8Array(readFileSync(join(__dirname, "../../bpf", `${n}.o`)));

describe("shared lazy accessors", () => {
  it("ElfFile.symbols: own enumerable accessor, one getter for all files, same keys", () => {
    const a = parseElf(bytes("global_data"));
    const b = parseElf(bytes("bench_many"));
    const da = Object.getOwnPropertyDescriptor(a, "symbols")!;
    expect(da.enumerable && da.configurable).toBe(true);
    expect(typeof da.get).toBe("function");
    expect(Object.getOwnPropertyDescriptor(b, "symbols")!.get).toBe(da.get);
    expect(Object.keys(a)).toEqual(["class", "byteOrder", "type", "machine", "osabi", "sections", "segments", "symbols", "sectionByName", "relocations"]);
    expect(Reflect.ownKeys(a)).toEqual(Object.keys(a));
    // each file reads its own table, once
    expect(a.symbols).toBe(a.symbols);
    expect(a.symbols.some((s) => s.name === "map_0")).toBe(false);
    expect(b.symbols.some((s) => s.name === "map_0")).toBe(true);
    expect({ ...b }.symbols).toBe(b.symbols);
  });

  it(".bss contents: shared accessor, lazy, assignable, copied by spread", () => {
    const bssOf = (s: CollectionSpec) => Object.values(s.maps).find((m) => m.section === ".bss")!;
    const m1 = bssOf(CollectionSpec.fromBytes(bytes("global_data")));
    const m2 = bssOf(CollectionSpec.fromBytes(bytes("global_data")));
    const d1 = Object.getOwnPropertyDescriptor(m1, "contents")!;
    expect(d1.enumerable && d1.configurable).toBe(true);
    expect(Object.getOwnPropertyDescriptor(m2, "contents")!.get).toBe(d1.get);
    expect(zeroContentsUntouched(m1)).toBe(true);
    const copy = { ...m1 };
    expect(copy.contents).toEqual(new Uint8Array(m1.valueSize!));
    expect(zeroContentsUntouched(m1)).toBe(false); // the spread read it
    expect(zeroContentsUntouched(copy)).toBe(false); // a copy is plain data
    expect(zeroContentsUntouched(m2)).toBe(true); // state is per spec
    const v = new Uint8Array(m2.valueSize!).fill(7);
    m2.contents = v;
    expect(m2.contents).toBe(v);
    expect(zeroContentsUntouched(m2)).toBe(false);
  });

  it("hiddenSlot: per-kind, invisible, one per object", () => {
    const s1 = hiddenSlot<number>();
    const s2 = hiddenSlot<number>();
    const o = { x: 1 };
    s1.attach(o, 5);
    expect(s1.get(o)).toBe(5);
    expect(s1.has(o) && !s2.has(o)).toBe(true);
    expect(() => s2.get(o)).toThrow(TypeError);
    expect(() => s1.attach(o, 6)).toThrow(TypeError);
    expect(Reflect.ownKeys(o)).toEqual(["x"]);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(JSON.stringify(o)).toBe('{"x":1}');
  });
});
