/**
 * CO-RE access specs: what a relocation's access string ("0:1:2") means in one BTF.
 *
 * A spec is the chain of steps from the relocation's root type to the thing being relocated:
 * the first step indexes the root as if it were an array (`p[0]`), then each step is a
 * struct/union member (by index in the local BTF, matched by *name* in a target BTF) or an
 * array element. Anonymous members are walked through but are not steps of their own, because
 * their position differs between kernels while named fields keep their names. Pure.
 */
import type { BtfSpec } from "../spec.js";
import { essentialName } from "../spec.js";
import { skipQualifiers, typeSize } from "../query.js";
import type { CoreReloKind } from "../ext.js";
import type { BtfType } from "../types.js";

/** Relocation kinds that patch something about a field (offset, size, existence, bitfield shifts). */
export const FIELD_KINDS: ReadonlySet<CoreReloKind> = new Set([
  "field_byte_offset",
  "field_byte_size",
  "field_exists",
  "field_signed",
  "field_lshift_u64",
  "field_rshift_u64",
]);
/** Relocation kinds about a whole type. */
export const TYPE_KINDS: ReadonlySet<CoreReloKind> = new Set([
  "type_id_local",
  "type_id_target",
  "type_exists",
  "type_size",
  "type_matches",
]);
/** Relocation kinds about an enumerator. */
export const ENUMVAL_KINDS: ReadonlySet<CoreReloKind> = new Set(["enumval_exists", "enumval_value"]);

/** Access steps deeper than this are refused (libbpf's limit is the same 64). */
export const MAX_ACCESS_DEPTH = 64;

/** One step of a spec. */
export interface CoreAccessor {
  /**
   * For a member step: the id of the struct/union holding the member. For an array step (and
   * the root step): the id of the element type, typedefs and qualifiers skipped. For an
   * enumerator: the enum's id.
   */
  readonly typeId: number;
  /** Member, element or enumerator index. */
  readonly index: number;
  /** Member or enumerator name; undefined for array (and root) steps. */
  readonly name?: string;
}

/** An access spec resolved in one BTF. */
export interface CoreSpec {
  readonly btf: BtfSpec;
  /** The relocation's root type in this BTF. */
  readonly rootId: number;
  readonly kind: CoreReloKind;
  /** Named member steps, array steps and enumerator steps (anonymous members skipped). */
  readonly accessors: CoreAccessor[];
  /** Every index, anonymous members included: the access string of this spec. */
  readonly raw: number[];
  /** Bit offset of the field from the start of the root (field kinds). */
  bitOffset: number;
}

/** A relocation whose local side makes no sense (bad access string, wrong kinds): the object is broken. */
export class CoreSpecError extends Error {}

/** Parse "0:1:2" into indexes. Throws CoreSpecError. */
export function parseAccessString(s: string): number[] {
  if (s.length === 0) throw new CoreSpecError("empty access string");
  const parts = s.split(":");
  if (parts.length > MAX_ACCESS_DEPTH) throw new CoreSpecError(`access string "${s}" is deeper than ${MAX_ACCESS_DEPTH}`);
  return parts.map((p) => {
    if (!/^[0-9]{1,9}$/.test(p)) throw new CoreSpecError(`access string "${s}" has a bad index "${p}"`);
    return Number(p);
  });
}

function isComposite(t: BtfType): t is Extract<BtfType, { kind: "struct" | "union" }> {
  return t.kind === "struct" || t.kind === "union";
}

/** Whether `arr`, reached through `prev`, is a flexible array member (last member, 0 elements). */
function isFlexArray(btf: BtfSpec, prev: CoreAccessor | undefined, nelems: number): boolean {
  if (!prev || prev.name === undefined || nelems > 0) return false;
  const t = btf.typeById(prev.typeId);
  return isComposite(t) && prev.index === t.members.length - 1;
}

/**
 * Resolve a relocation's access string in the object's own BTF. Throws CoreSpecError when the
 * string does not fit the types (an index out of range, a step into a scalar, a type kind used
 * with an enum relocation, …).
 */
export function parseLocalSpec(btf: BtfSpec, rootId: number, accessString: string, kind: CoreReloKind): CoreSpec {
  const raw = parseAccessString(accessString);
  const spec: CoreSpec = { btf, rootId, kind, accessors: [], raw, bitOffset: 0 };
  if (TYPE_KINDS.has(kind)) {
    if (raw.length !== 1 || raw[0] !== 0) throw new CoreSpecError(`type relocation with access string "${accessString}" (want "0")`);
    return spec;
  }
  if (ENUMVAL_KINDS.has(kind)) {
    const t = skipQualifiers(btf, rootId);
    if (t.kind !== "enum" && t.kind !== "enum64") throw new CoreSpecError(`enum relocation against a ${t.kind}`);
    if (raw.length !== 1 || raw[0] >= t.values.length) throw new CoreSpecError(`enumerator "${accessString}" is out of range (${t.values.length})`);
    spec.accessors.push({ typeId: t.id, index: raw[0], name: t.values[raw[0]].name });
    return spec;
  }
  let t = skipQualifiers(btf, rootId);
  spec.accessors.push({ typeId: t.id, index: raw[0] });
  spec.bitOffset = raw[0] * sizeOrThrow(btf, t.id) * 8;
  for (let i = 1; i < raw.length; i++) {
    const idx = raw[i];
    if (isComposite(t)) {
      const m = t.members[idx];
      if (!m) throw new CoreSpecError(`member ${idx} of ${describeType(btf, t.id)} does not exist (${t.members.length} members)`);
      spec.bitOffset += m.bitOffset;
      if (m.name !== "") spec.accessors.push({ typeId: t.id, index: idx, name: m.name });
      t = skipQualifiers(btf, m.type);
    } else if (t.kind === "array") {
      const prev = spec.accessors[spec.accessors.length - 1];
      if (!isFlexArray(btf, prev, t.nelems) && idx >= t.nelems) {
        throw new CoreSpecError(`index ${idx} is beyond the ${t.nelems} elements of an array`);
      }
      const elem = skipQualifiers(btf, t.type);
      spec.accessors.push({ typeId: elem.id, index: idx });
      spec.bitOffset += idx * sizeOrThrow(btf, elem.id) * 8;
      t = elem;
    } else {
      throw new CoreSpecError(`access step ${i} ("${accessString}") goes into a ${t.kind}`);
    }
  }
  return spec;
}

function sizeOrThrow(btf: BtfSpec, id: number): number {
  try {
    return typeSize(btf, id);
  } catch (e) {
    throw new CoreSpecError(`${describeType(btf, id)} has no size: ${(e as Error).message}`);
  }
}

/** "struct task_struct", "enum pid_type", "typedef u32", "int" — for messages. */
export function describeType(btf: BtfSpec, id: number): string {
  const t = btf.typeById(id);
  const name = t.name || "(anon)";
  switch (t.kind) {
    case "struct":
    case "union":
    case "enum":
    case "enum64":
    case "typedef":
    case "fwd":
      return `${t.kind === "enum64" ? "enum" : t.kind} ${name} [${id}]`;
    case "void":
      return "void";
    default:
      return `${t.kind} ${name} [${id}]`;
  }
}

/**
 * A spec as C-like text: `struct task_struct.pid`, `struct s.arr[3].x`, `enum pid_type::PIDTYPE_TGID`,
 * `struct task_struct` (type relocations).
 */
export function describeSpec(spec: CoreSpec): string {
  const root = spec.btf.typeById(spec.rootId);
  let s = `${root.kind === "enum64" ? "enum" : root.kind} ${root.name || "(anon)"}`;
  if (TYPE_KINDS.has(spec.kind)) return s;
  if (ENUMVAL_KINDS.has(spec.kind)) return `${s}::${spec.accessors[0]?.name ?? "?"}`;
  spec.accessors.forEach((a, i) => {
    if (i === 0) {
      if (a.index !== 0) s += `[${a.index}]`;
    } else if (a.name !== undefined) s += `.${a.name}`;
    else s += `[${a.index}]`;
  });
  return s;
}

/** Whether two names are equal once their `___flavor` suffixes are dropped (an empty name matches anything). */
export function namesMatch(a: string, b: string): boolean {
  if (a === "" || b === "") return true;
  return essentialName(a) === essentialName(b);
}
