/**
 * The compatibility rules of CO-RE, between a type of the object's BTF ("local") and one of the
 * kernel's ("target"), as libbpf documents them:
 *
 * - `fieldsAreCompat`: may a field access be relocated from one field to the other? Any two
 *   structs/unions are (their members are matched one step later), pointers and floats of the
 *   same kind are, integers are unless they use the legacy bit-offset encoding, enums and fwds
 *   need the same essential name, arrays recurse into their elements.
 * - `typesAreCompat`: for type relocations (exists/size/id) and kfunc prototypes: same kind
 *   after typedefs and qualifiers; pointers, arrays and function prototypes recurse (same
 *   parameter count, compatible parameters and return type); a fwd stands for its struct/union.
 * - `typesMatch`: the stricter `bpf_core_type_matches()`: names, sizes and signedness of
 *   integers, every local member present by name with a matching type, every local enumerator
 *   present, array lengths equal; behind a pointer a struct only needs the same name and kind.
 *   Names compare by essential name, and an empty name (anonymous member) matches any.
 *
 * Every walk is bounded so hostile BTF cannot recurse without end. Pure.
 */
import type { BtfSpec } from "../spec.js";
import { skipQualifiers } from "../query.js";
import type { BtfType } from "../types.js";
import { namesMatch } from "./access.js";

const MAX_DEPTH = 32;

/** Kinds that CO-RE treats as the same: equal kinds, or enum with enum64. */
export function kindsCompatible(a: BtfType["kind"], b: BtfType["kind"]): boolean {
  if (a === b) return true;
  return (a === "enum" || a === "enum64") && (b === "enum" || b === "enum64");
}

function composite(t: BtfType): boolean {
  return t.kind === "struct" || t.kind === "union";
}

/** Whether a field of type `localId` may be relocated to a field of type `targId`. */
export function fieldsAreCompat(local: BtfSpec, localId: number, targ: BtfSpec, targId: number): boolean {
  let l = skipQualifiers(local, localId);
  let t = skipQualifiers(targ, targId);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (composite(l) && composite(t)) return true;
    if (!kindsCompatible(l.kind, t.kind)) return false;
    switch (l.kind) {
      case "ptr":
      case "float":
        return true;
      case "fwd":
      case "enum":
      case "enum64":
        return namesMatch(l.name, t.name);
      case "int":
        return l.bitOffset === 0 && (t as typeof l).bitOffset === 0;
      case "array":
        t = skipQualifiers(targ, (t as { type: number }).type);
        l = skipQualifiers(local, l.type);
        break;
      default:
        return false;
    }
  }
  return false;
}

/** Whether type `localId` is compatible with `targId` (type relocations, kfunc prototypes). */
export function typesAreCompat(local: BtfSpec, localId: number, targ: BtfSpec, targId: number, depth = 0): boolean {
  let l = skipQualifiers(local, localId);
  let t = skipQualifiers(targ, targId);
  for (; depth < MAX_DEPTH; depth++) {
    // A forward declaration stands for the struct/union it declares (kfunc prototypes often
    // only declare `struct task_struct;`); the kernel checks kfunc arguments itself.
    if ((l.kind === "fwd" && composite(t)) || (composite(l) && t.kind === "fwd")) return true;
    if (!kindsCompatible(l.kind, t.kind)) return false;
    switch (l.kind) {
      case "void":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "fwd":
        return true;
      case "int":
        return l.bitOffset === 0 && (t as typeof l).bitOffset === 0;
      case "float":
        return true;
      case "ptr":
      case "array":
        t = skipQualifiers(targ, (t as { type: number }).type);
        l = skipQualifiers(local, l.type);
        break;
      case "func_proto": {
        const tp = t as typeof l;
        if (l.params.length !== tp.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          const lp = l.params[i].type;
          const tpp = tp.params[i].type;
          if (lp === 0 || tpp === 0) {
            if (lp !== tpp) return false; // variadic on one side only
            continue;
          }
          if (!typesAreCompat(local, lp, targ, tpp, depth + 1)) return false;
        }
        l = skipQualifiers(local, l.returnType);
        t = skipQualifiers(targ, tp.returnType);
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

/** Whether type `localId` matches `targId` in the sense of `bpf_core_type_matches()`. */
export function typesMatch(local: BtfSpec, localId: number, targ: BtfSpec, targId: number): boolean {
  return matchAt(local, localId, targ, targId, false, MAX_DEPTH);
}

function matchAt(local: BtfSpec, localId: number, targ: BtfSpec, targId: number, behindPtr: boolean, level: number): boolean {
  for (; level > 0; level--) {
    const l = skipQualifiers(local, localId);
    const t = skipQualifiers(targ, targId);
    if (!namesMatch(l.name, t.name)) return false;
    switch (l.kind) {
      case "void":
        return t.kind === "void";
      case "fwd":
        if (t.kind === "fwd") return l.union === t.union;
        if (composite(t)) return l.union === (t.kind === "union");
        return false;
      case "enum":
      case "enum64": {
        if (t.kind !== "enum" && t.kind !== "enum64") return false;
        if (l.size !== t.size) return false;
        for (const v of l.values) if (!t.values.some((tv) => namesMatch(v.name, tv.name))) return false;
        return true;
      }
      case "struct":
      case "union": {
        if (behindPtr) {
          if (t.kind === "fwd") return t.union === (l.kind === "union");
          return t.kind === l.kind;
        }
        if (t.kind !== l.kind) return false;
        if (l.members.length > t.members.length) return false;
        for (const lm of l.members) {
          let found = false;
          for (const tm of t.members) {
            if (!namesMatch(lm.name, tm.name)) continue;
            if (matchAt(local, lm.type, targ, tm.type, behindPtr, level - 1)) {
              found = true;
              break;
            }
          }
          if (!found) return false;
        }
        return true;
      }
      case "int":
        return t.kind === "int" && l.size === t.size && l.signed === t.signed;
      case "float":
        return t.kind === "float" && l.size === t.size;
      case "ptr":
        if (t.kind !== "ptr") return false;
        behindPtr = true;
        localId = l.type;
        targId = t.type;
        break;
      case "array":
        if (t.kind !== "array" || l.nelems !== t.nelems) return false;
        localId = l.type;
        targId = t.type;
        break;
      case "func_proto": {
        if (t.kind !== "func_proto" || l.params.length !== t.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          if (!matchAt(local, l.params[i].type, targ, t.params[i].type, behindPtr, level - 1)) return false;
        }
        localId = l.returnType;
        targId = t.returnType;
        break;
      }
      default:
        return false;
    }
  }
  return false;
}
