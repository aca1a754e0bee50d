/**
 * Matching a local access spec against one candidate type of a target BTF: the same steps
 * found by *name* (members through anonymous structs/unions, enumerators by essential name),
 * array bounds checked, field types compatible. Pure.
 */
import type { BtfSpec } from "../spec.js";
import { essentialName } from "../spec.js";
import { skipQualifiers, typeSize } from "../query.js";
import type { BtfType } from "../types.js";
import { ENUMVAL_KINDS, MAX_ACCESS_DEPTH, TYPE_KINDS, type CoreAccessor, type CoreSpec } from "./access.js";
import { fieldsAreCompat, typesAreCompat, typesMatch } from "./compat.js";

/** The candidate's spec when it matches the local spec, else undefined. */
export function matchSpec(local: CoreSpec, targ: BtfSpec, targId: number): CoreSpec | undefined {
  const spec: CoreSpec = { btf: targ, rootId: targId, kind: local.kind, accessors: [], raw: [], bitOffset: 0 };
  if (TYPE_KINDS.has(local.kind)) {
    const ok =
      local.kind === "type_matches"
        ? typesMatch(local.btf, local.rootId, targ, targId)
        : typesAreCompat(local.btf, local.rootId, targ, targId);
    if (!ok) return undefined;
    spec.raw.push(0);
    return spec;
  }
  if (ENUMVAL_KINDS.has(local.kind)) {
    const t = skipQualifiers(targ, targId);
    if (t.kind !== "enum" && t.kind !== "enum64") return undefined;
    const want = essentialName(local.accessors[0].name ?? "");
    const i = t.values.findIndex((v) => essentialName(v.name) === want);
    if (i < 0) return undefined;
    spec.accessors.push({ typeId: t.id, index: i, name: t.values[i].name });
    spec.raw.push(i);
    return spec;
  }
  let id = targId;
  for (let i = 0; i < local.accessors.length; i++) {
    const la = local.accessors[i];
    const t = skipQualifiers(targ, id);
    if (i === 0) {
      spec.accessors.push({ typeId: t.id, index: la.index });
      spec.raw.push(la.index);
      spec.bitOffset += la.index * typeSize(targ, t.id) * 8;
      id = t.id;
      continue;
    }
    if (la.name !== undefined) {
      const holder = local.btf.typeById(la.typeId) as Extract<BtfType, { kind: "struct" | "union" }>;
      const localMember = holder.members[la.index];
      const found = findMember(targ, t, la.name, spec, 0);
      if (!found) return undefined;
      if (!fieldsAreCompat(local.btf, localMember.type, targ, found.type)) return undefined;
      id = found.type;
    } else {
      if (t.kind !== "array") return undefined;
      const prev = spec.accessors[spec.accessors.length - 1];
      if (!isFlex(targ, prev, t.nelems) && la.index >= t.nelems) return undefined;
      const elem = skipQualifiers(targ, t.type);
      spec.accessors.push({ typeId: elem.id, index: la.index });
      spec.raw.push(la.index);
      spec.bitOffset += la.index * typeSize(targ, elem.id) * 8;
      id = elem.id;
    }
    if (spec.raw.length > MAX_ACCESS_DEPTH) return undefined;
  }
  return spec;
}

function isFlex(btf: BtfSpec, prev: CoreAccessor | undefined, nelems: number): boolean {
  if (!prev || prev.name === undefined || nelems > 0) return false;
  const t = btf.typeById(prev.typeId);
  return (t.kind === "struct" || t.kind === "union") && prev.index === t.members.length - 1;
}

/**
 * Find member `name` of composite `t`, looking inside anonymous members; on success the steps
 * (and bit offsets) are appended to `spec` and the member's type id is returned.
 */
function findMember(btf: BtfSpec, t: BtfType, name: string, spec: CoreSpec, depth: number): { type: number } | undefined {
  if (t.kind !== "struct" && t.kind !== "union") return undefined;
  if (depth > MAX_ACCESS_DEPTH) return undefined;
  for (let i = 0; i < t.members.length; i++) {
    const m = t.members[i];
    if (m.name === name) {
      spec.bitOffset += m.bitOffset;
      spec.raw.push(i);
      spec.accessors.push({ typeId: t.id, index: i, name });
      return { type: m.type };
    }
    if (m.name === "") {
      const inner = skipQualifiers(btf, m.type);
      if (inner.kind !== "struct" && inner.kind !== "union") continue;
      spec.bitOffset += m.bitOffset;
      spec.raw.push(i);
      const found = findMember(btf, inner, name, spec, depth + 1);
      if (found) return found;
      spec.bitOffset -= m.bitOffset;
      spec.raw.pop();
    }
  }
  return undefined;
}
