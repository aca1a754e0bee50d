/** The CO-RE compatibility rules (fields, types, type matching) on hand-built BTF. */
import { describe, expect, it } from "vitest";
import { BtfBuilder } from "../../../src/btf/marshal.js";
import { parseBtf, type BtfSpec } from "../../../src/btf/spec.js";
import type { BtfTypeInit } from "../../../src/btf/types.js";
import { fieldsAreCompat, typesAreCompat, typesMatch } from "../../../src/btf/core/compat.js";

const int = (name: string, size: number, signed: boolean, bitOffset = 0): BtfTypeInit => ({ kind: "int", name, size, signed, char: false, bool: false, bitOffset, bits: size * 8 - bitOffset });

/** Builds one BTF; `add` records each type's id under a name. */
function btf(add: (b: BtfBuilder, ids: Record<string, number>) => void): { spec: BtfSpec; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const ids: Record<string, number> = {};
  add(b, ids);
  return { spec: parseBtf(b.marshal()), ids };
}

const L = btf((b, id) => {
  id.int = b.add(int("int", 4, true));
  id.uint = b.add(int("unsigned int", 4, false));
  id.long = b.add(int("long", 8, true));
  id.legacy = b.add(int("legacy", 4, false, 2));
  id.fwd = b.add({ kind: "fwd", name: "task", union: false });
  id.pfwd = b.add({ kind: "ptr", name: "", type: id.fwd });
  id.task = b.add({ kind: "struct", name: "task", size: 8, members: [{ name: "pid", type: id.int, bitOffset: 0, bitfieldSize: 0 }, { name: "next", type: id.pfwd, bitOffset: 32, bitfieldSize: 0 }] });
  id.arr4 = b.add({ kind: "array", name: "", type: id.int, indexType: id.int, nelems: 4 });
  id.color = b.add({ kind: "enum", name: "color", size: 4, signed: false, values: [{ name: "RED", value: 0 }] });
  id.color___x = b.add({ kind: "enum", name: "color___x", size: 4, signed: false, values: [{ name: "RED", value: 0 }, { name: "PINK", value: 9 }] });
  id.proto = b.add({ kind: "func_proto", name: "", returnType: id.int, params: [{ name: "a", type: id.pfwd }] });
  id.proto2 = b.add({ kind: "func_proto", name: "", returnType: id.int, params: [{ name: "a", type: id.int }, { name: "b", type: id.int }] });
  id.u32 = b.add({ kind: "typedef", name: "u32", type: id.uint });
  id.cu32 = b.add({ kind: "const", name: "", type: id.u32 });
});
const T = btf((b, id) => {
  id.int = b.add(int("int", 4, true));
  id.uint = b.add(int("unsigned int", 4, false));
  id.long = b.add(int("long", 8, true));
  id.ptask = b.add({ kind: "ptr", name: "", type: 0 });
  id.task = b.add({ kind: "struct", name: "task", size: 24, members: [{ name: "x", type: id.long, bitOffset: 0, bitfieldSize: 0 }, { name: "pid", type: id.int, bitOffset: 64, bitfieldSize: 0 }, { name: "next", type: id.ptask, bitOffset: 128, bitfieldSize: 0 }] });
  id.ptask2 = b.add({ kind: "ptr", name: "", type: id.task });
  id.task2 = b.add({ kind: "struct", name: "task", size: 16, members: [{ name: "pid", type: id.long, bitOffset: 0, bitfieldSize: 0 }, { name: "next", type: id.ptask2, bitOffset: 64, bitfieldSize: 0 }] });
  id.task3 = b.add({ kind: "struct", name: "task", size: 16, members: [{ name: "pid", type: id.int, bitOffset: 0, bitfieldSize: 0 }, { name: "next", type: id.ptask2, bitOffset: 64, bitfieldSize: 0 }, { name: "more", type: id.int, bitOffset: 96, bitfieldSize: 0 }] });
  id.arr4 = b.add({ kind: "array", name: "", type: id.int, indexType: id.int, nelems: 4 });
  id.arr8 = b.add({ kind: "array", name: "", type: id.int, indexType: id.int, nelems: 8 });
  id.color = b.add({ kind: "enum64", name: "color", size: 4, signed: false, values: [{ name: "BLUE", value: 1n }, { name: "RED", value: 5n }] });
  id.proto = b.add({ kind: "func_proto", name: "", returnType: id.int, params: [{ name: "p", type: id.ptask2 }] });
  id.u32 = b.add({ kind: "typedef", name: "u32", type: id.uint });
});

describe("fieldsAreCompat", () => {
  it("ints with ints (any size), pointers with pointers, composites with composites", () => {
    expect(fieldsAreCompat(L.spec, L.ids.int, T.spec, T.ids.long)).toBe(true);
    expect(fieldsAreCompat(L.spec, L.ids.cu32, T.spec, T.ids.int)).toBe(true); // qualifiers and typedefs skipped
    expect(fieldsAreCompat(L.spec, L.ids.pfwd, T.spec, T.ids.ptask2)).toBe(true);
    expect(fieldsAreCompat(L.spec, L.ids.task, T.spec, T.ids.task2)).toBe(true);
    expect(fieldsAreCompat(L.spec, L.ids.int, T.spec, T.ids.ptask2)).toBe(false);
    expect(fieldsAreCompat(L.spec, L.ids.legacy, T.spec, T.ids.uint)).toBe(false); // legacy bitfield int
    expect(fieldsAreCompat(L.spec, L.ids.arr4, T.spec, T.ids.arr8)).toBe(true);
    expect(fieldsAreCompat(L.spec, L.ids.color, T.spec, T.ids.color)).toBe(true); // enum ~ enum64 by name
  });
});

describe("typesAreCompat", () => {
  it("follows pointers, arrays and prototypes", () => {
    expect(typesAreCompat(L.spec, L.ids.proto, T.spec, T.ids.proto)).toBe(true);
    expect(typesAreCompat(L.spec, L.ids.proto2, T.spec, T.ids.proto)).toBe(false); // parameter count
    expect(typesAreCompat(L.spec, L.ids.u32, T.spec, T.ids.u32)).toBe(true);
    expect(typesAreCompat(L.spec, L.ids.u32, T.spec, T.ids.task)).toBe(false);
  });
});

describe("typesMatch", () => {
  it("ints need the same size and signedness", () => {
    expect(typesMatch(L.spec, L.ids.u32, T.spec, T.ids.u32)).toBe(true);
    expect(typesMatch(L.spec, L.ids.int, T.spec, T.ids.int)).toBe(true);
    expect(typesMatch(L.spec, L.ids.int, T.spec, T.ids.long)).toBe(false);
  });

  it("structs need every local member by name with a matching type; behind a pointer only the kind", () => {
    expect(typesMatch(L.spec, L.ids.task, T.spec, T.ids.task3)).toBe(true); // extra target member is fine; fwd behind ptr ~ struct
    expect(typesMatch(L.spec, L.ids.task, T.spec, T.ids.task2)).toBe(false); // pid is long there
  });

  it("enums need every local enumerator (by essential name) and the same size; arrays the same length", () => {
    expect(typesMatch(L.spec, L.ids.color, T.spec, T.ids.color)).toBe(true);
    expect(typesMatch(L.spec, L.ids.color___x, T.spec, T.ids.color)).toBe(false); // PINK missing
    expect(fieldsAreCompat(L.spec, L.ids.arr4, T.spec, T.ids.arr4)).toBe(true);
    expect(typesMatch(L.spec, L.ids.arr4, T.spec, T.ids.arr4)).toBe(true);
    expect(typesMatch(L.spec, L.ids.arr4, T.spec, T.ids.arr8)).toBe(false);
  });

  it("prototypes need matching parameters and return type", () => {
    expect(typesMatch(L.spec, L.ids.proto, T.spec, T.ids.proto)).toBe(true);
    expect(typesMatch(L.spec, L.ids.proto2, T.spec, T.ids.proto)).toBe(false);
  });
});
