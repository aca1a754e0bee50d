/**
 * The load-time pass of a collection: CO-RE relocations and `__ksym`/kfunc externs of every
 * program, against the running kernel's BTF. The spec is not changed (it stays the pure,
 * kernel-independent blueprint); patched copies of the programs are returned, with what each
 * relocation did and a function that explains a verifier error caused by a poisoned
 * instruction. Pure apart from kallsyms (untyped ksyms only); the caller passes the kernel BTF.
 */
import type { BtfSpec } from "../btf/spec.js";
import { CORE_RELO_KINDS } from "../btf/ext.js";
import type { ExternSpec } from "../spec/collection-spec.js";
import type { ProgramSpec } from "../spec/program-spec.js";
import { ParseError, checkOptions } from "../errors.js";
import { CoreTargets } from "../btf/core/candidates.js";
import { patchKsyms, resolveKsyms, type KsymResolution, type ResolveKsymsOptions } from "../btf/core/ksym.js";
import { explainPoisonedLoad } from "../btf/core/poison.js";
import { applyCoreRelocations, type AppliedCoreRelocation, type CoreRelocationRecord } from "../btf/core/relocate.js";

/** What applyCoreAndKsyms reads of a CollectionSpec. */
export interface CoreInput {
  readonly programs: Readonly<Record<string, ProgramSpec>>;
  readonly externs: Readonly<Record<string, ExternSpec>>;
  readonly btf?: BtfSpec;
  readonly byteOrder: "little" | "big";
}

/** Options of applyCoreAndKsyms. */
export interface CoreAndKsymsOptions extends Omit<ResolveKsymsOptions, "modules"> {
  /** Only these programs (default: all). Programs not loaded need not relocate. */
  programs?: readonly string[];
}

/** What applyCoreAndKsyms made. */
export interface CoreAndKsymsResult {
  /** Copies of the programs with relocations applied and ksym references resolved. */
  readonly programs: Record<string, ProgramSpec>;
  /** What each CO-RE relocation did, by program. */
  readonly relocations: Record<string, AppliedCoreRelocation[]>;
  /** How each `__ksym` extern was resolved. */
  readonly ksyms: ReadonlyMap<string, KsymResolution>;
  /**
   * The error to report when loading `program` failed with `error`: a CorePoisonError naming
   * the relocation when the verifier reached a poisoned instruction, else `error`.
   */
  explain(program: string, error: unknown): unknown;
}

const OPTION_KEYS = new Set(["programs", "kallsyms"]);

/** The CO-RE records of a program in the engine's form (access strings from the object's string table). */
export function coreRecordsOf(program: ProgramSpec, btf: BtfSpec): CoreRelocationRecord[] {
  return (program.coreRelocations ?? []).map((r) => {
    const kind = CORE_RELO_KINDS[r.kind];
    if (kind === undefined) throw new ParseError(`program "${program.name}": unknown CO-RE relocation kind ${r.kind}`);
    return { insnOff: r.insnOff, typeId: r.typeId, accessString: btf.string(r.accessStrOff), kind };
  });
}

/**
 * Apply CO-RE relocations and resolve `__ksym` externs (kfuncs, typed and untyped kernel
 * variables) of a collection's programs against `kernel` (`kernelBtf()`, a BTF file for
 * kernels without `/sys/kernel/btf`, or CoreTargets with module BTF). Throws
 * CoreRelocationError for a relocation that cannot be applied at all, TsbpfError for a missing
 * non-weak or mismatching ksym, ParseError for malformed records.
 */
export function applyCoreAndKsyms(spec: CoreInput, kernel: BtfSpec | CoreTargets, options: CoreAndKsymsOptions = {}): CoreAndKsymsResult {
  checkOptions("applyCoreAndKsyms", options, OPTION_KEYS);
  const targets = kernel instanceof CoreTargets ? kernel : new CoreTargets(kernel);
  const names = options.programs ?? Object.keys(spec.programs);
  const programs: Record<string, ProgramSpec> = {};
  const relocations: Record<string, AppliedCoreRelocation[]> = {};

  // Externs referenced by the chosen programs only.
  const used = new Set<string>();
  for (const name of names) {
    const p = spec.programs[name];
    if (!p) throw new TypeError(`applyCoreAndKsyms: no program "${name}"`);
    for (const insn of p.instructions) if (insn.reference?.kind === "ksym") used.add(insn.reference.name);
  }
  const externs = Object.values(spec.externs).filter((e) => e.kind === "ksym" && used.has(e.name));
  for (const n of used) if (!externs.some((e) => e.name === n)) externs.push({ name: n, kind: "ksym", weak: false, typeId: 0 });
  const ksyms = externs.length ? resolveKsyms(externs, spec.btf, targets.vmlinux.btf, { ...options, modules: () => targets.modules }) : new Map<string, KsymResolution>();

  for (const name of names) {
    const p = spec.programs[name];
    let insns = p.instructions;
    let applied: AppliedCoreRelocation[] = [];
    if (p.coreRelocations?.length) {
      if (!spec.btf) throw new ParseError(`program "${name}": CO-RE relocations without the object's BTF`);
      const r = applyCoreRelocations(insns, coreRecordsOf(p, spec.btf), spec.btf, targets, { program: name, byteOrder: spec.byteOrder });
      insns = r.instructions;
      applied = r.relocations;
    }
    if (ksyms.size) insns = patchKsyms(insns, ksyms, name);
    programs[name] = { ...p, instructions: insns };
    relocations[name] = applied;
  }
  return {
    programs,
    relocations,
    ksyms,
    explain: (program, error) => explainPoisonedLoad(error, program, relocations[program] ?? [], ksyms),
  };
}
