/**
 * `tsbpf/btf`: BPF Type Format. Parsing, building and marshalling BTF, type queries, codecs
 * and C declarations from BTF types, `.BTF.ext` records, the fixups a loader makes, the kernel's
 * own BTF, and the CO-RE engine piece by piece (relocating one instruction list against target
 * BTF, ksym resolution, compatibility rules) for tools that do what `Collection.load` does by
 * hand.
 */
export { parseBtf, BtfSpec, essentialName } from "../btf/spec.js";
export type { ParseBtfOptions } from "../btf/spec.js";
export { BtfBuilder, marshalBtf } from "../btf/marshal.js";
export type { BtfBuilderOptions } from "../btf/marshal.js";
export { skipQualifiers, skipModifiers, typeSize, typeAlignment } from "../btf/query.js";
export type { BtfTypeSource } from "../btf/query.js";
export { BTF_KIND } from "../btf/types.js";
export { codecFromBtf } from "../btf/codec.js";
export type { BtfCodecOptions } from "../btf/codec.js";
export { dumpC } from "../btf/c-dump.js";
export type { DumpCOptions } from "../btf/c-dump.js";
export { dumpRaw } from "../btf/raw-dump.js";
export { parseBtfExt, marshalFuncInfo, marshalLineInfo, CORE_RELO_KINDS } from "../btf/ext.js";
export type { BtfExt, BtfFuncInfo, BtfLineInfo, BtfCoreRelo, CoreReloKind } from "../btf/ext.js";
export { fixupDatasecs, sanitizeBtf, copyTypes, ALL_BTF_FEATURES } from "../btf/fixup.js";
export type { DatasecLayout, BtfFeatures } from "../btf/fixup.js";
export { kernelBtf, moduleBtf, kernelModulesWithBtf, releaseKernelBtf } from "../features/kernel-btf.js";
export type { KernelBtfOptions } from "../features/kernel-btf.js";
export { Btf } from "../map/btf.js";
export type { BtfLoadOptions, BtfInfo } from "../map/btf.js";
export type {
  BtfKind, BtfType, BtfTypeInit, BtfTypeOfKind, BtfInt, BtfPtr, BtfArray, BtfStruct, BtfUnion, BtfComposite,
  BtfMember, BtfEnum, BtfEnum64, BtfEnumValue, BtfEnum64Value, BtfFwd, BtfTypedef, BtfVolatile, BtfConst,
  BtfRestrict, BtfFunc, BtfFuncProto, BtfParam, BtfVar, BtfVarSecinfo, BtfDatasec, BtfFloat, BtfDeclTag,
  BtfTypeTag, BtfVoid, BtfFuncLinkage, BtfVarLinkage,
} from "../btf/types.js";

// --- CO-RE, piece by piece (Collection.load and applyCoreAndKsyms run them in order) ---
export { applyCoreAndKsyms, coreRecordsOf } from "../collection/core-apply.js";
export type { CoreAndKsymsOptions, CoreAndKsymsResult, CoreInput } from "../collection/core-apply.js";
export { applyCoreRelocations, POISON_CALL_CORE } from "../btf/core/relocate.js";
export type { AppliedCoreRelocation, CoreRelocationRecord, ApplyCoreOptions } from "../btf/core/relocate.js";
export { CoreTargets } from "../btf/core/candidates.js";
export type { CoreTarget, CoreCandidate, CoreTargetsOptions } from "../btf/core/candidates.js";
export { CoreRelocationError } from "../btf/core/relocation-error.js";
export { CorePoisonError, explainPoisonedLoad } from "../btf/core/poison.js";
export { resolveKsyms, patchKsyms, POISON_CALL_KFUNC_BASE } from "../btf/core/ksym.js";
export type { KsymResolution, KsymExtern, ResolveKsymsOptions } from "../btf/core/ksym.js";
export { kallsymsLookup, clearKallsymsCache } from "../btf/core/kallsyms.js";
export { fieldsAreCompat, typesAreCompat, typesMatch } from "../btf/core/compat.js";
