/**
 * The BTF type model: one plain object per type, every kind of Linux 6.18.
 *
 * Types refer to each other by **type id** (a number), exactly as in the binary format, never
 * by object reference. That keeps the model plain data (easy to compare, copy, serialise and
 * edit), lets a lazy reader decode one type without decoding its neighbours, and survives the
 * reference loops that real BTF contains (`struct list_head { struct list_head *next; }`).
 * Id 0 is `void`; ids of split BTF (kernel modules) continue after their base's last id.
 *
 * The parser gives every type its `id`; the builder (marshal.ts) takes types without one
 * (`BtfTypeInit`) and assigns ids in insertion order.
 */

/** BTF kind names, as bpftool prints them (`BTF_KIND_*` of `include/uapi/linux/btf.h`). */
export type BtfKind =
  | "int"
  | "ptr"
  | "array"
  | "struct"
  | "union"
  | "enum"
  | "fwd"
  | "typedef"
  | "volatile"
  | "const"
  | "restrict"
  | "func"
  | "func_proto"
  | "var"
  | "datasec"
  | "float"
  | "decl_tag"
  | "type_tag"
  | "enum64";

/** `BTF_KIND_*` numbers by kind name (UAPI facts). */
export const BTF_KIND: Readonly<Record<BtfKind, number>> = {
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
};

/** Kind names by `BTF_KIND_*` number (index 0, `BTF_KIND_UNKN`, is undefined). */
export const BTF_KIND_NAMES: readonly (BtfKind | undefined)[] = (() => {
  const names: (BtfKind | undefined)[] = [];
  for (const [k, n] of Object.entries(BTF_KIND)) names[n] = k as BtfKind;
  return names;
})();

/** Linkage of a `func` (UAPI `enum btf_func_linkage`: static 0, global 1, extern 2). */
export type BtfFuncLinkage = "static" | "global" | "extern";
/** Linkage of a `var` (UAPI `BTF_VAR_STATIC` 0, `BTF_VAR_GLOBAL_ALLOCATED` 1, `BTF_VAR_GLOBAL_EXTERN` 2). */
export type BtfVarLinkage = "static" | "global" | "extern";

/** Linkage names by UAPI number, shared by func and var. */
export const BTF_LINKAGE_NAMES = ["static", "global", "extern"] as const;

/** Fields every type has. `id` is set on types read from BTF; `name` is "" for anonymous types. */
interface Base<K> {
  /** The type id (0 is void). */
  id: number;
  kind: K;
  /** The name, or "" when anonymous. */
  name: string;
}

/** `void`: id 0. Never stored in the type section; returned by `typeById(0)`. */
export interface BtfVoid extends Base<"void"> {}

/** `BTF_KIND_INT`: an integer (or char/bool) of `size` bytes. */
export interface BtfInt extends Base<"int"> {
  /** Size in bytes (1, 2, 4, 8 or 16). */
  size: number;
  /** `BTF_INT_SIGNED`. */
  signed: boolean;
  /** `BTF_INT_CHAR`. */
  char: boolean;
  /** `BTF_INT_BOOL`. */
  bool: boolean;
  /** Bit offset of the value inside the storage (legacy bitfield encoding; usually 0). */
  bitOffset: number;
  /** Number of value bits (usually `size * 8`). */
  bits: number;
}

/** `BTF_KIND_PTR`: a pointer to `type`. */
export interface BtfPtr extends Base<"ptr"> {
  type: number;
}

/** `BTF_KIND_ARRAY`: `nelems` elements of `type`, indexed by `indexType`. */
export interface BtfArray extends Base<"array"> {
  type: number;
  indexType: number;
  nelems: number;
}

/** One member of a struct or union. */
export interface BtfMember {
  /** Member name, "" for an anonymous struct/union member. */
  name: string;
  type: number;
  /** Offset from the start of the struct, in bits. */
  bitOffset: number;
  /** Bitfield width in bits, 0 when the member is not a bitfield. */
  bitfieldSize: number;
}

/** `BTF_KIND_STRUCT` / `BTF_KIND_UNION`. */
export interface BtfComposite<K extends "struct" | "union" = "struct" | "union"> extends Base<K> {
  /** Size in bytes. */
  size: number;
  members: BtfMember[];
}
export type BtfStruct = BtfComposite<"struct">;
export type BtfUnion = BtfComposite<"union">;

/** One enumerator of an `enum`: value is a signed or unsigned 32-bit number per `signed`. */
export interface BtfEnumValue {
  name: string;
  value: number;
}
/** One enumerator of an `enum64`. */
export interface BtfEnum64Value {
  name: string;
  value: bigint;
}

/** `BTF_KIND_ENUM`: up to 32-bit enumerators; `size` is 1, 2, 4 (or 8 for old encoders). */
export interface BtfEnum extends Base<"enum"> {
  size: number;
  /** Whether values are signed (kind_flag, 6.0+); unsigned values are read as u32. */
  signed: boolean;
  values: BtfEnumValue[];
}

/** `BTF_KIND_ENUM64` (Linux 6.0): 64-bit enumerators. */
export interface BtfEnum64 extends Base<"enum64"> {
  size: number;
  signed: boolean;
  values: BtfEnum64Value[];
}

/** `BTF_KIND_FWD`: a forward declaration of a struct (or union when `union`). */
export interface BtfFwd extends Base<"fwd"> {
  union: boolean;
}

/** Kinds that only wrap another type: typedef and the qualifiers. */
export interface BtfTypedef extends Base<"typedef"> {
  type: number;
}
export interface BtfVolatile extends Base<"volatile"> {
  type: number;
}
export interface BtfConst extends Base<"const"> {
  type: number;
}
export interface BtfRestrict extends Base<"restrict"> {
  type: number;
}

/** `BTF_KIND_FUNC`: a function; `type` is its `func_proto`. */
export interface BtfFunc extends Base<"func"> {
  type: number;
  linkage: BtfFuncLinkage;
}

/** One parameter of a function prototype. A variadic `...` is a last param with type 0 and no name. */
export interface BtfParam {
  name: string;
  type: number;
}

/** `BTF_KIND_FUNC_PROTO`: return type and parameters (always anonymous). */
export interface BtfFuncProto extends Base<"func_proto"> {
  /** Return type id (0 = void). */
  returnType: number;
  params: BtfParam[];
}

/** `BTF_KIND_VAR`: a global or static variable. */
export interface BtfVar extends Base<"var"> {
  type: number;
  linkage: BtfVarLinkage;
}

/** One variable placed in a data section. */
export interface BtfVarSecinfo {
  /** Id of a `var` (or `func` for `.ksyms`). */
  type: number;
  /** Byte offset inside the section. */
  offset: number;
  /** Size in bytes. */
  size: number;
}

/** `BTF_KIND_DATASEC`: a section of variables (`.data`, `.bss`, `.rodata`, `.maps`, `.kconfig`…). */
export interface BtfDatasec extends Base<"datasec"> {
  size: number;
  vars: BtfVarSecinfo[];
}

/** `BTF_KIND_FLOAT` (5.13): a floating-point type of `size` bytes. */
export interface BtfFloat extends Base<"float"> {
  size: number;
}

/**
 * `BTF_KIND_DECL_TAG` (5.16): `__attribute__((btf_decl_tag(name)))` on `type`, or on its
 * member/parameter number `componentIdx` (-1 for the type itself).
 */
export interface BtfDeclTag extends Base<"decl_tag"> {
  type: number;
  componentIdx: number;
  /** kind_flag (6.14+): the tag is a plain `__attribute__((name))` rather than a btf_decl_tag. */
  attribute: boolean;
}

/** `BTF_KIND_TYPE_TAG` (5.17): `__attribute__((btf_type_tag(name)))`, e.g. `__user`, `__rcu`. */
export interface BtfTypeTag extends Base<"type_tag"> {
  type: number;
  /** kind_flag (6.14+): the tag is a plain `__attribute__((name))`. */
  attribute: boolean;
}

/** Every BTF type (plus `void` for id 0). Narrow on `kind`. */
export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfUnion
  | BtfEnum
  | BtfFwd
  | BtfTypedef
  | BtfVolatile
  | BtfConst
  | BtfRestrict
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag
  | BtfTypeTag
  | BtfEnum64;

/** The type object of one kind: `BtfTypeOfKind<"struct">` is `BtfStruct`. */
export type BtfTypeOfKind<K extends BtfType["kind"]> = Extract<BtfType, { kind: K }>;

/** A type as given to the builder: without an id (ids are assigned on insertion). */
export type BtfTypeInit = BtfType extends infer T ? (T extends BtfType ? Omit<T, "id"> & { id?: number } : never) : never;
