/**
 * The TypeScript type of a BTF type, exactly as `codecFromBtf` shapes its values (src/btf/codec.ts
 * is the law; this file follows it rule for rule): a small model (`TsType`), its rendering as
 * TypeScript source, and `conforms`, which checks a decoded value against the model (the tests
 * use it to prove generated types and runtime codecs agree). Pure.
 */
import { isCharType } from "../btf/codec.js";
import { skipQualifiers, type BtfTypeSource } from "../btf/query.js";
import type { BtfMember, BtfType } from "../btf/types.js";

/** The shape of one JS value. */
export type TsType =
  | { readonly t: "number" | "bigint" | "boolean" | "string" | "bytes" }
  /** A fixed array: a tuple type when short, else `T[]` (length in `n` either way). */
  | { readonly t: "array"; readonly elem: TsType; readonly n: number }
  /** A struct or union (named: declared once and referred to by `ref`). */
  | { readonly t: "object"; readonly id: number; readonly members: readonly TsMember[]; readonly ref?: string };

/** One property of an object type. */
export interface TsMember {
  readonly name: string;
  readonly type: TsType;
  /** What C says about it, for the TSDoc (`char[16]`, `bitfield: 3 bits`, `enum color`…). */
  readonly doc: string;
}

/** Arrays longer than this are typed `T[]` rather than a tuple. */
export const MAX_TUPLE = 16;

/** How C names a type in docs: `struct event`, `enum color`, `__u32`, `char[16]`. */
export function cName(btf: BtfTypeSource, id: number, depth = 0): string {
  if (depth > 16) return "…";
  const t = btf.typeById(id);
  switch (t.kind) {
    case "void":
      return "void";
    case "struct":
    case "union":
    case "enum":
    case "enum64":
      return t.name ? `${t.kind === "enum64" ? "enum" : t.kind} ${t.name}` : `${t.kind} (anonymous)`;
    case "fwd":
      return `${t.union ? "union" : "struct"} ${t.name}`;
    case "ptr":
      return `${cName(btf, t.type, depth + 1)} *`;
    case "array":
      return `${cName(btf, t.type, depth + 1)}[${t.nelems}]`;
    case "const":
    case "volatile":
    case "restrict":
      return `${t.kind} ${cName(btf, t.type, depth + 1)}`;
    case "type_tag":
      return cName(btf, t.type, depth + 1);
    case "func_proto":
      return "function";
    default:
      return t.name || t.kind;
  }
}

/** Names of types that get their own declaration: the resolver gives each struct/union id a TS name. */
export type NameOf = (t: BtfType) => string | undefined;

/**
 * The model of BTF type `id`. Throws (as codecFromBtf does) for types without a value layout;
 * callers fall back to bytes, as the loader does.
 */
export function tsTypeOf(btf: BtfTypeSource, id: number, nameOf: NameOf, depth = 0): TsType {
  if (depth > 64) throw new TypeError(`BTF type [${id}] nests too deeply`);
  const t = skipQualifiers(btf, id);
  switch (t.kind) {
    case "int":
      if (t.bool && t.size === 1) return { t: "boolean" };
      return t.size >= 8 ? { t: "bigint" } : { t: "number" };
    case "enum":
    case "enum64":
      nameOf(t); // declared beside (its enumerators), though values read as plain numbers
      return t.size === 8 ? { t: "bigint" } : { t: "number" };
    case "float":
      return t.size === 4 || t.size === 8 ? { t: "number" } : { t: "bytes" };
    case "ptr":
      return { t: "bigint" };
    case "array": {
      const e = skipQualifiers(btf, t.type);
      if (e.kind === "int" && e.size === 1 && !e.bool) return isCharType(e) ? { t: "string" } : { t: "bytes" };
      return { t: "array", elem: tsTypeOf(btf, t.type, nameOf, depth + 1), n: t.nelems };
    }
    case "struct":
    case "union": {
      const members: TsMember[] = [];
      collect(btf, t.members, nameOf, depth + 1, members);
      const ref = nameOf(t);
      return ref ? { t: "object", id: t.id, members, ref } : { t: "object", id: t.id, members };
    }
    case "var":
      return tsTypeOf(btf, t.type, nameOf, depth + 1);
    default:
      throw new TypeError(`BTF type [${id}] (${t.kind}) has no value layout`);
  }
}

/** Members as the codec lays them out: anonymous structs and unions flattened into the parent. */
function collect(btf: BtfTypeSource, members: readonly BtfMember[], nameOf: NameOf, depth: number, out: TsMember[]): void {
  for (const m of members) {
    const mt = skipQualifiers(btf, m.type);
    if (m.name === "") {
      if (mt.kind === "struct" || mt.kind === "union") collect(btf, mt.members, nameOf, depth + 1, out);
      continue;
    }
    let bits = m.bitfieldSize;
    if (bits === 0 && mt.kind === "int" && mt.bits !== mt.size * 8) bits = mt.bits;
    if (bits === 0 && m.bitOffset % 8 !== 0) bits = mt.kind === "int" ? mt.bits : "size" in mt ? mt.size * 8 : 0;
    if (bits !== 0) {
      const isBool = mt.kind === "int" && mt.bool;
      const big = (mt.kind === "int" || mt.kind === "enum" || mt.kind === "enum64") && mt.size === 8;
      out.push({ name: m.name, type: { t: isBool ? "boolean" : big ? "bigint" : "number" }, doc: `${cName(btf, m.type)} : ${bits} (bitfield)` });
      continue;
    }
    out.push({ name: m.name, type: tsTypeOf(btf, m.type, nameOf, depth), doc: cName(btf, m.type) });
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property name as TypeScript source: bare when it is an identifier, else quoted. */
export function propName(name: string): string {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

/**
 * TypeScript source of a model. Named objects render as their reference (declared elsewhere);
 * anonymous ones inline, indented by `indent`.
 */
export function renderType(type: TsType, indent = ""): string {
  switch (type.t) {
    case "number":
    case "bigint":
    case "boolean":
    case "string":
      return type.t;
    case "bytes":
      return "Uint8Array";
    case "array": {
      const e = renderType(type.elem, indent);
      if (type.n <= MAX_TUPLE) return `[${Array.from({ length: type.n }, () => e).join(", ")}]`;
      const arr = /^[A-Za-z0-9_.]+$/.test(e) ? `${e}[]` : `Array<${e}>`;
      return arr;
    }
    case "object":
      if (type.ref) return type.ref;
      return renderMembers(type.members, indent);
  }
}

/** `{ a: number; … }` over several lines, for an interface body or an inline type. */
export function renderMembers(members: readonly TsMember[], indent: string): string {
  if (members.length === 0) return "{}";
  const inner = indent + "  ";
  const lines = members.map((m) => `${inner}/** ${escapeDoc(m.doc)} */\n${inner}${propName(m.name)}: ${renderType(m.type, inner)};`);
  return `{\n${lines.join("\n")}\n${indent}}`;
}

/** Text made safe inside a `/** … *\/` comment. */
export function escapeDoc(s: string): string {
  return s.replace(/\*\//g, "*\\/");
}

/**
 * Whether `value` has the shape `type` describes: the property every generated type promises
 * of what the runtime codec decodes. Returns "" when it conforms, else where it does not.
 */
export function conforms(type: TsType, value: unknown, path = "value"): string {
  switch (type.t) {
    case "number":
    case "bigint":
    case "boolean":
    case "string":
      return typeof value === type.t ? "" : `${path}: expected ${type.t}, got ${typeof value}`;
    case "bytes":
      return value instanceof Uint8Array ? "" : `${path}: expected Uint8Array`;
    case "array": {
      if (!Array.isArray(value)) return `${path}: expected an array`;
      if (value.length !== type.n) return `${path}: expected ${type.n} elements, got ${value.length}`;
      for (let i = 0; i < value.length; i++) {
        const bad = conforms(type.elem, value[i], `${path}[${i}]`);
        if (bad) return bad;
      }
      return "";
    }
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return `${path}: expected an object`;
      const keys = Object.keys(value);
      const names = type.members.map((m) => m.name);
      if (keys.length !== names.length || keys.some((k) => !names.includes(k))) return `${path}: keys ${keys.join(",")} are not ${names.join(",")}`;
      for (const m of type.members) {
        const bad = conforms(m.type, (value as Record<string, unknown>)[m.name], `${path}.${m.name}`);
        if (bad) return bad;
      }
      return "";
    }
  }
}
