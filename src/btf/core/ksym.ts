/**
 * kfuncs and `__ksym` externs, resolved against the kernel's BTF:
 *
 * - an extern *function* (a kfunc, e.g. `bpf_task_from_pid`) becomes the id of the kernel's
 *   `func` of that name, after checking the local prototype is compatible with the kernel's;
 *   calls get `imm = id` (BPF_PSEUDO_KFUNC_CALL), `ld_imm64` (`bpf_ksym_exists`) gets
 *   BPF_PSEUDO_BTF_ID;
 * - a *typed* extern variable (`extern struct rq runqueues __ksym;`) becomes BPF_PSEUDO_BTF_ID of
 *   the kernel's `var`, its type checked;
 * - an *untyped* one (`extern const void bpf_prog_active __ksym;`) becomes its address from
 *   `/proc/kallsyms` (read once, only the names needed).
 *
 * A missing `__weak` extern is allowed as libbpf allows it: a variable reads as 0 and a kfunc
 * call is poisoned (call to helper 2002000000 + the extern's index), so a call guarded by
 * `bpf_ksym_exists()` is dead code and verifies. Pure apart from the kallsyms read, which the
 * caller can replace.
 */
import type { Instruction } from "../../asm/instruction.js";
import { NotSupportedError, TsbpfError } from "../../errors.js";
import type { CoreTarget } from "./candidates.js";
import type { BtfSpec } from "../spec.js";
import { skipQualifiers } from "../query.js";
import { describeType } from "./access.js";
import { typesAreCompat } from "./compat.js";
import { kallsymsLookup } from "./kallsyms.js";
import { poisonInstruction } from "./relocate.js";
import { LD_IMM64 } from "../../asm/opcodes.js";

/** Base of the helper id a missing weak kfunc call is poisoned with (plus the extern's index), as libbpf does. */
export const POISON_CALL_KFUNC_BASE = 2002000000;

/** What an extern of the object is, as the ELF loader describes it. */
export interface KsymExtern {
  readonly name: string;
  readonly weak: boolean;
}

/** How one `__ksym` extern was resolved. */
export type KsymResolution =
  | { readonly name: string; readonly kind: "kfunc"; readonly btfId: number }
  | { readonly name: string; readonly kind: "btf_var"; readonly btfId: number }
  | { readonly name: string; readonly kind: "address"; readonly address: bigint }
  | { readonly name: string; readonly kind: "missing"; readonly weak: true; readonly poisonId: number };

/** Options of resolveKsyms. */
export interface ResolveKsymsOptions {
  /** Looks up addresses of untyped externs; default: /proc/kallsyms (kallsyms.ts). */
  kallsyms?: (names: readonly string[]) => Map<string, bigint>;
  /**
   * Kernel module BTF, searched when vmlinux lacks a kfunc or variable, only to say so: a
   * module's kfunc needs its BTF fd in the program's fd_array, which tsbpf does not pass yet.
   */
  modules?: () => readonly CoreTarget[];
}

/** Throws NotSupportedError when `name` (a `kind`) is in a module's BTF rather than vmlinux's. */
function refuseModuleSymbol(name: string, kind: "func" | "var", modules: (() => readonly CoreTarget[]) | undefined): void {
  for (const m of modules?.() ?? []) {
    if (m.btf.idsByName(name, kind).some((id) => id >= m.btf.firstId)) {
      throw new NotSupportedError(`ksym "${name}" from kernel module "${m.module ?? "?"}"`, {
        detail: "kfuncs and variables of modules need the module's BTF fd in fd_array, which tsbpf does not pass yet",
      });
    }
  }
}

/**
 * Resolve `__ksym` externs against the kernel's BTF. `local` is the object's BTF (kfuncs and
 * typed externs need it; without it every extern is treated as untyped). Throws TsbpfError naming
 * the extern when a non-weak one is missing, or when its local declaration does not match the
 * kernel's (a kfunc prototype or a variable's type); NotSupportedError when it is in a module.
 */
export function resolveKsyms(
  externs: readonly KsymExtern[],
  local: BtfSpec | undefined,
  kernel: BtfSpec,
  options: ResolveKsymsOptions = {},
): Map<string, KsymResolution> {
  const out = new Map<string, KsymResolution>();
  const untyped: KsymExtern[] = [];
  externs.forEach((e, i) => {
    const missing = (what: string): void => {
      if (!e.weak) throw new TsbpfError(`ksym "${e.name}": ${what} (declare it __weak to allow it, or check the kernel version)`);
      out.set(e.name, { name: e.name, kind: "missing", weak: true, poisonId: POISON_CALL_KFUNC_BASE + i });
    };
    const funcId = local?.idsByName(e.name, "func")[0];
    if (local && funcId !== undefined) {
      const kid = kernel.idsByName(e.name, "func")[0];
      if (kid === undefined) {
        refuseModuleSymbol(e.name, "func", options.modules);
        return missing("the kernel has no kfunc of this name");
      }
      const lf = local.typeOfKind(funcId, "func");
      const kf = kernel.typeOfKind(kid, "func");
      if (!typesAreCompat(local, lf.type, kernel, kf.type)) {
        throw new TsbpfError(
          `ksym "${e.name}": the local prototype does not match the kernel's ${describeType(kernel, kf.type)} (fix the extern declaration to the kernel's signature)`,
        );
      }
      out.set(e.name, { name: e.name, kind: "kfunc", btfId: kid });
      return;
    }
    const varId = local?.idsByName(e.name, "var")[0];
    if (local && varId !== undefined) {
      const lv = local.typeOfKind(varId, "var");
      if (skipQualifiers(local, lv.type).kind !== "void") {
        const kid = kernel.idsByName(e.name, "var")[0];
        if (kid === undefined) {
          refuseModuleSymbol(e.name, "var", options.modules);
          return missing("the kernel's BTF has no variable of this name");
        }
        const kv = kernel.typeOfKind(kid, "var");
        if (!typesAreCompat(local, lv.type, kernel, kv.type)) {
          throw new TsbpfError(
            `ksym "${e.name}": the local type ${describeType(local, lv.type)} does not match the kernel's ${describeType(kernel, kv.type)} (fix the extern declaration)`,
          );
        }
        out.set(e.name, { name: e.name, kind: "btf_var", btfId: kid });
        return;
      }
    }
    untyped.push(e);
  });
  if (untyped.length > 0) {
    const addrs = (options.kallsyms ?? kallsymsLookup)(untyped.map((e) => e.name));
    for (const e of untyped) {
      const a = addrs.get(e.name);
      if (a !== undefined) out.set(e.name, { name: e.name, kind: "address", address: a });
      else if (e.weak) out.set(e.name, { name: e.name, kind: "missing", weak: true, poisonId: POISON_CALL_KFUNC_BASE + externs.indexOf(e) });
      else throw new TsbpfError(`ksym "${e.name}": no such symbol in /proc/kallsyms (declare it __weak to allow it)`);
    }
  }
  return out;
}

const CALL = 0x85;
const PSEUDO_BTF_ID = 3;
const PSEUDO_KFUNC_CALL = 2;

/**
 * A copy of `insns` with every `ksym` reference replaced by its resolution (kfunc ids in calls,
 * BTF ids or addresses in ld_imm64). Throws TsbpfError for a reference to an extern that was
 * not resolved, or an instruction that cannot carry it.
 */
export function patchKsyms(insns: readonly Instruction[], ksyms: ReadonlyMap<string, KsymResolution>, program = "program"): Instruction[] {
  return insns.map((insn, i) => {
    const ref = insn.reference;
    if (ref?.kind !== "ksym") return insn;
    const r = ksyms.get(ref.name);
    if (!r) throw new TsbpfError(`program "${program}": instruction ${i} refers to ksym "${ref.name}", which was not resolved`);
    const { reference: _drop, ...rest } = insn;
    if (insn.opcode === CALL) {
      if (r.kind === "kfunc") return { ...rest, src: PSEUDO_KFUNC_CALL, imm: r.btfId, offset: 0 };
      if (r.kind === "missing") return poisonInstruction(insn, r.poisonId);
      throw new TsbpfError(
        `program "${program}": instruction ${i} calls "${ref.name}", which was not resolved as a kfunc (kfunc calls need the object's BTF with the extern's prototype: compile with -g; variables cannot be called)`,
      );
    }
    if (insn.opcode === LD_IMM64) {
      switch (r.kind) {
        case "kfunc":
        case "btf_var":
          return { ...rest, src: PSEUDO_BTF_ID, imm: BigInt(r.btfId) };
        case "address":
          return { ...rest, src: 0, imm: BigInt.asIntN(64, r.address) };
        case "missing":
          return { ...rest, src: 0, imm: 0n };
      }
    }
    throw new TsbpfError(`program "${program}": instruction ${i} (opcode 0x${insn.opcode.toString(16)}) refers to ksym "${ref.name}" but is neither a call nor ld_imm64`);
  });
}
