/**
 * The hook `Collection.load` calls: decides whether the programs to load need the kernel's BTF
 * at all (CO-RE records or `__ksym`/kfunc references), and only then opens it and applies
 * applyCoreAndKsyms. Objects without CO-RE never read `/sys/kernel/btf/vmlinux`.
 */
import { kernelBtf, kernelModulesWithBtf, moduleBtf, readWholeFile } from "../features/kernel-btf.js";
import { parseBtf, type BtfSpec } from "../btf/spec.js";
import { applyCoreAndKsyms, type CoreAndKsymsOptions, type CoreInput } from "./core-apply.js";
import { CoreTargets, type CoreTarget } from "../btf/core/candidates.js";
import type { ProgramSpec } from "../spec/program-spec.js";
import { ParseError, TsbpfError } from "../errors.js";
import { peekProgram, peekRefers } from "../elf/collection-spec.js";

/** What the collection loader uses: the program to load, and how to explain its load error. */
export interface PreparedCore {
  /** The program with CO-RE and ksyms applied (the spec's own when it needs neither). */
  program(name: string): ProgramSpec;
  /** The error to throw for a failed load of `name` (CorePoisonError for a reached poisoned instruction). */
  explain(name: string, error: unknown): unknown;
}

/**
 * The kernel BTF to relocate against: `kernel` as given (a parsed BtfSpec), a BTF file path
 * (kernels without `/sys/kernel/btf`; no module BTF then), or by default the running kernel's
 * vmlinux with its modules. Throws NotSupportedError when the kernel has no BTF, ParseError for
 * a malformed file.
 */
export function coreTargetsFor(kernel?: BtfSpec | string | CoreTargets): CoreTargets {
  if (kernel instanceof CoreTargets) return kernel;
  if (typeof kernel === "string") {
    // The last file given is kept (as kernelBtf() keeps vmlinux), so repeated loads parse it once.
    if (fileTargets?.path === kernel) return fileTargets.targets;
    let bytes: Uint8Array;
    try {
      bytes = readWholeFile(kernel);
    } catch (e) {
      throw new TsbpfError(`kernel BTF: read ${kernel}: ${(e as Error).message} (check the path given)`, { cause: e });
    }
    try {
      fileTargets = { path: kernel, targets: new CoreTargets(parseBtf(bytes, { lazy: true })) };
      return fileTargets.targets;
    } catch (e) {
      if (e instanceof ParseError) throw new ParseError(`kernel BTF ${kernel}: ${e.message}`, { offset: e.offset, cause: e });
      throw e;
    }
  }
  if (kernel !== undefined) return new CoreTargets(kernel);
  // One CoreTargets per shared kernel BTF instance, so later loads reuse its candidate cache.
  const vmlinux = kernelBtf();
  let targets = sharedTargets.get(vmlinux);
  if (!targets) {
    targets = new CoreTargets(vmlinux, {
      modules: () => kernelModulesWithBtf().map((m): CoreTarget => ({ btf: moduleBtf(m), module: m })),
    });
    sharedTargets.set(vmlinux, targets);
  }
  return targets;
}

const sharedTargets = new WeakMap<BtfSpec, CoreTargets>();
let fileTargets: { path: string; targets: CoreTargets } | undefined;

/**
 * Apply CO-RE and ksyms to the programs a collection is about to load, reading the kernel's
 * BTF only when one of them needs it. Throws like applyCoreAndKsyms and coreTargetsFor.
 */
export function prepareCore(
  spec: CoreInput,
  programs: readonly string[],
  kernel?: BtfSpec | string | CoreTargets,
  options?: Omit<CoreAndKsymsOptions, "programs">,
): PreparedCore {
  // Read without counting as user code (see kept-programs.ts), and from the ELF relocations
  // when the instructions were never decoded.
  const needs = programs.some((n) => {
    const p = spec.programs[n];
    if (p === undefined) return false;
    return Boolean(peekProgram(p, "coreRelocations")?.length) || peekRefers(p, "ksym");
  });
  if (!needs) return { program: (n) => spec.programs[n], explain: (_n, e) => e };
  const targets = coreTargetsFor(kernel);
  if (spec.btf) {
    const roots: number[] = [];
    for (const n of programs) for (const r of spec.programs[n]?.coreRelocations ?? []) roots.push(r.typeId);
    targets.prefetch(spec.btf, roots);
  }
  const r = applyCoreAndKsyms(spec, targets, { ...options, programs });
  return { program: (n) => r.programs[n] ?? spec.programs[n], explain: r.explain };
}
