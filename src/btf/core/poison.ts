/**
 * Turning the verifier's complaint about a poisoned instruction into a message about the
 * relocation: when an instruction that CO-RE (or a missing weak kfunc) poisoned is reachable,
 * the verifier says `invalid func unknown#195896080` at that instruction; this maps the
 * instruction back to the relocation, the type and the field. Pure.
 */
import { TsbpfError, VerifierError } from "../../errors.js";
import { POISON_CALL_KFUNC_BASE, type KsymResolution } from "./ksym.js";
import { POISON_CALL_CORE, type AppliedCoreRelocation } from "./relocate.js";

/**
 * A program reached an instruction that could not be relocated. `relocation` is the CO-RE
 * record (or `ksym` the missing weak kfunc); `cause` is the VerifierError.
 */
export class CorePoisonError extends TsbpfError {
  readonly program: string;
  /** Instruction slot the verifier stopped at. */
  readonly instruction: number;
  readonly relocation?: AppliedCoreRelocation;
  readonly ksym?: string;
  constructor(program: string, instruction: number, message: string, cause: VerifierError, extra: { relocation?: AppliedCoreRelocation; ksym?: string }) {
    super(message, { cause });
    this.program = program;
    this.instruction = instruction;
    this.relocation = extra.relocation;
    this.ksym = extra.ksym;
  }
}

/**
 * The error to report for a failed load: a CorePoisonError when the verifier stopped at a
 * poisoned instruction of this program (naming the relocation, its type and field, and why it
 * could not be satisfied), else `error` itself.
 */
export function explainPoisonedLoad(
  error: unknown,
  program: string,
  relocations: readonly AppliedCoreRelocation[],
  ksyms?: ReadonlyMap<string, KsymResolution>,
): unknown {
  if (!(error instanceof VerifierError)) return error;
  const log = error.log;
  for (let i = log.length - 1; i >= 0; i--) {
    const m = /invalid func unknown#(\d+)/.exec(log[i]);
    if (!m) continue;
    const helper = Number(m[1]);
    // The instruction is on the line that printed the call ("12: (85) call unknown#195896080").
    let slot = -1;
    for (let j = i; j >= 0; j--) {
      const at = /^(\d+): \(85\) call unknown#(\d+)/.exec(log[j]);
      if (at && Number(at[2]) === helper) {
        slot = Number(at[1]);
        break;
      }
    }
    if (helper === POISON_CALL_CORE) {
      const relo = relocations.find((r) => r.poisoned && r.slot === slot) ?? (slot < 0 ? relocations.find((r) => r.poisoned) : undefined);
      if (!relo) return error;
      return new CorePoisonError(
        program,
        slot,
        `program "${program}": instruction ${slot} uses CO-RE relocation #${relo.index} (${relo.kind} of ${relo.local}), which this kernel cannot satisfy: ${relo.reason ?? "no match"} (guard the access with bpf_core_field_exists()/bpf_core_type_exists(), or fix the local type)`,
        error,
        { relocation: relo },
      );
    }
    if (helper >= POISON_CALL_KFUNC_BASE && ksyms) {
      for (const k of ksyms.values()) {
        if (k.kind === "missing" && k.poisonId === helper) {
          return new CorePoisonError(
            program,
            slot,
            `program "${program}": instruction ${slot} calls the weak kfunc "${k.name}", which this kernel does not have (guard the call with bpf_ksym_exists(${k.name}))`,
            error,
            { ksym: k.name },
          );
        }
      }
    }
    return error;
  }
  return error;
}
