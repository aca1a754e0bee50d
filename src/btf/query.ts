/**
 * Walks over BTF that follow references: skipping typedefs and qualifiers, sizes and alignments.
 * Every walk is bounded (`MAX_RESOLVE_DEPTH`, as the kernel bounds its own), so a reference
 * loop in hostile BTF ends in a ParseError instead of a hang or a stack overflow.
 */
import { ParseError } from "../errors.js";
import type { BtfSpec } from "./spec.js";
import type { BtfType } from "./types.js";

/** How many typedef/qualifier/array/pointer hops a walk follows before calling it a loop. */
export const MAX_RESOLVE_DEPTH = 32;

/** Anything that can give a type by id: a BtfSpec, a kernel BTF, or a builder. */
export interface BtfTypeSource {
  typeById(id: number): BtfType;
}

function loop(id: number, what: string): ParseError {
  return new ParseError(`BTF: type [${id}]: ${what} does not end after ${MAX_RESOLVE_DEPTH} steps (reference loop?)`);
}

/**
 * The type `id` with typedefs, const, volatile, restrict and type tags skipped. Throws
 * ParseError on a reference loop.
 */
export function skipQualifiers(btf: BtfTypeSource, id: number): BtfType {
  let t = btf.typeById(id);
  for (let d = 0; d < MAX_RESOLVE_DEPTH; d++) {
    switch (t.kind) {
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        t = btf.typeById(t.type);
        break;
      default:
        return t;
    }
  }
  throw loop(id, "typedef/qualifier chain");
}

/** Like skipQualifiers but keeps typedefs (skips only const/volatile/restrict/type_tag). */
export function skipModifiers(btf: BtfTypeSource, id: number): BtfType {
  let t = btf.typeById(id);
  for (let d = 0; d < MAX_RESOLVE_DEPTH; d++) {
    switch (t.kind) {
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        t = btf.typeById(t.type);
        break;
      default:
        return t;
    }
  }
  throw loop(id, "qualifier chain");
}

/**
 * The size in bytes of type `id` (`sizeof`): follows typedefs and qualifiers, multiplies arrays.
 * Pointers are 8 bytes (BPF is 64-bit). Throws TypeError for kinds without a size (void, func,
 * func_proto, fwd), ParseError on loops or sizes beyond 2^53.
 */
export function typeSize(btf: BtfTypeSource, id: number): number {
  let mult = 1;
  let t = btf.typeById(id);
  for (let d = 0; d < MAX_RESOLVE_DEPTH; d++) {
    switch (t.kind) {
      case "int":
      case "enum":
      case "enum64":
      case "struct":
      case "union":
      case "float":
      case "datasec": {
        const n = mult * t.size;
        if (!Number.isSafeInteger(n)) throw new ParseError(`BTF: type [${id}] has an absurd size`);
        return n;
      }
      case "ptr":
        return mult * 8;
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
      case "var":
        t = btf.typeById(t.type);
        break;
      case "array":
        mult *= t.nelems;
        t = btf.typeById(t.type);
        break;
      default:
        throw new TypeError(`BTF type [${id}] (${t.kind}) has no size`);
    }
  }
  throw loop(id, "size computation");
}

/**
 * The natural alignment in bytes of type `id`, as C compilers lay it out for BPF: ints, floats and
 * enums align to their size (at most 8), pointers to 8, arrays to their element, structs and
 * unions to their most aligned member (1 when packed layouts make that impossible is not
 * detected here; see c-dump.ts). Throws like typeSize.
 */
export function typeAlignment(btf: BtfTypeSource, id: number): number {
  // Memoised per call: a type graph that shares members (a union of three copies of a union of
  // three copies…) would otherwise cost 3^depth steps.
  return alignmentOf(btf, id, 0, new Map());
}

function alignmentOf(btf: BtfTypeSource, id: number, depth: number, memo: Map<number, number>): number {
  if (depth > MAX_RESOLVE_DEPTH) throw loop(id, "alignment computation");
  const known = memo.get(id);
  if (known !== undefined) return known;
  const a = alignmentNew(btf, id, depth, memo);
  memo.set(id, a);
  return a;
}

function alignmentNew(btf: BtfTypeSource, id: number, depth: number, memo: Map<number, number>): number {
  const t = skipQualifiers(btf, id);
  switch (t.kind) {
    case "int":
    case "float":
    case "enum":
    case "enum64":
      return Math.min(Math.max(t.size, 1), 8);
    case "ptr":
      return 8;
    case "array":
      return alignmentOf(btf, t.type, depth + 1, memo);
    case "struct":
    case "union": {
      let a = 1;
      for (const m of t.members) a = Math.max(a, alignmentOf(btf, m.type, depth + 1, memo));
      return a;
    }
    default:
      throw new TypeError(`BTF type [${id}] (${t.kind}) has no alignment`);
  }
}
