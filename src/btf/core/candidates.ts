/**
 * Where CO-RE looks for target types: the kernel's vmlinux BTF (or a BTF file the user gives
 * for kernels without `/sys/kernel/btf`), then, only when vmlinux has no candidate, the BTF of
 * loaded kernel modules. Candidates are types of a compatible kind whose essential name (the
 * name without `___flavor`) equals the local type's. Results are cached per local type, so an
 * object with 1,000 relocations against 20 types does 20 name lookups. Pure: the caller reads
 * the BTF (src/features/kernel-btf.ts) and passes it in.
 */
import type { BtfSpec } from "../spec.js";
import { essentialName } from "../spec.js";
import type { BtfKind } from "../types.js";
import { checkOptions } from "../../errors.js";

/** One BTF to search: vmlinux (or a replacement file) or a module's split BTF. */
export interface CoreTarget {
  readonly btf: BtfSpec;
  /** The module's name when this is module BTF. */
  readonly module?: string;
}

/** A type of a target BTF that may be the local type's counterpart. */
export interface CoreCandidate {
  readonly target: CoreTarget;
  readonly id: number;
}

/** Options of CoreTargets. */
export interface CoreTargetsOptions {
  /**
   * Module BTF to search when vmlinux has no candidate, asked for only then (parsing module BTF
   * costs time). Each module's BTF must be split BTF on top of the vmlinux given.
   */
  modules?: () => Iterable<CoreTarget>;
}

/** The target side of CO-RE: the kernel's BTF, searched by essential name, with a candidate cache. */
export class CoreTargets {
  readonly vmlinux: CoreTarget;
  readonly #modulesSource?: () => Iterable<CoreTarget>;
  #modules?: CoreTarget[];
  readonly #cache = new WeakMap<BtfSpec, Map<number, CoreCandidate[]>>();
  readonly #specs = new WeakMap<BtfSpec, Map<string, unknown>>();

  /** `vmlinux`: the kernel's BTF (`kernelBtf()`), or a BTF file parsed with parseBtf for kernels without it. */
  constructor(vmlinux: BtfSpec, options?: CoreTargetsOptions) {
    if (options) checkOptions("CoreTargets", options, ["modules"]);
    this.vmlinux = { btf: vmlinux };
    this.#modulesSource = options?.modules;
  }

  /** The modules searched after vmlinux (read on first need). */
  get modules(): readonly CoreTarget[] {
    this.#modules ??= this.#modulesSource ? [...this.#modulesSource()] : [];
    return this.#modules;
  }

  /**
   * @internal A per-local-BTF cache for the relocation engine (resolved and matched access
   * specs), kept here because what it holds depends on these targets.
   */
  specCache(local: BtfSpec): Map<string, unknown> {
    let m = this.#specs.get(local);
    if (!m) this.#specs.set(local, (m = new Map()));
    return m;
  }

  /**
   * Find the vmlinux candidates of many local types at once, for a first load in a process:
   * one pass over the kernel BTF's type records for all their names (idsByEssentialNames), which
   * costs less than building the name index; later lookups use the index. Types already
   * cached, anonymous types and fewer than `minTypes` types are left to candidates(); so are
   * types vmlinux lacks when there are modules to search.
   */
  prefetch(local: BtfSpec, ids: Iterable<number>, minTypes = 4): void {
    let perBtf = this.#cache.get(local);
    if (!perBtf) this.#cache.set(local, (perBtf = new Map()));
    const wanted: { id: number; name: string; kinds: BtfKind[] }[] = [];
    const kinds = new Set<BtfKind>();
    for (const id of new Set(ids)) {
      if (perBtf.has(id) || !local.has(id) || id === 0) continue;
      const t = local.typeById(id);
      const name = essentialName(t.name);
      if (name === "" || t.kind === "void") continue;
      const ks: BtfKind[] = t.kind === "enum" || t.kind === "enum64" ? ["enum", "enum64"] : [t.kind];
      for (const k of ks) kinds.add(k);
      wanted.push({ id, name, kinds: ks });
    }
    if (wanted.length < minTypes) return;
    const btf = this.vmlinux.btf;
    const found = btf.idsByEssentialNames(
      wanted.map((w) => w.name),
      [...kinds],
    );
    // Types vmlinux lacks are left to candidates(), which looks in the modules, if any.
    const noModules = this.modules.length === 0;
    for (let i = 0; i < wanted.length; i++) {
      const w = wanted[i];
      const cands: CoreCandidate[] = [];
      for (const cid of found[i]) if (w.kinds.includes(btf.kindOf(cid) as BtfKind)) cands.push({ target: this.vmlinux, id: cid });
      if (cands.length > 0 || noModules) perBtf.set(w.id, cands);
    }
  }

  /**
   * Candidates for local type `id` of `local`: from vmlinux if it has any, else from the
   * modules. Empty for anonymous types (CO-RE cannot search for them).
   */
  candidates(local: BtfSpec, id: number): readonly CoreCandidate[] {
    let perBtf = this.#cache.get(local);
    if (!perBtf) this.#cache.set(local, (perBtf = new Map()));
    const known = perBtf.get(id);
    if (known) return known;
    const t = local.typeById(id);
    const out: CoreCandidate[] = [];
    const name = essentialName(t.name);
    if (name !== "" && t.kind !== "void") {
      const kinds: BtfKind[] = t.kind === "enum" || t.kind === "enum64" ? ["enum", "enum64"] : [t.kind];
      const search = (target: CoreTarget, ownOnly: boolean) => {
        for (const k of kinds) {
          for (const cid of target.btf.idsByEssentialName(name, k)) {
            if (ownOnly && cid < target.btf.firstId) continue;
            out.push({ target, id: cid });
          }
        }
      };
      search(this.vmlinux, false);
      if (out.length === 0) for (const m of this.modules) search(m, true);
      if (kinds.length > 1) out.sort((a, b) => (a.target === b.target ? a.id - b.id : 0));
    }
    perBtf.set(id, out);
    return out;
  }
}
