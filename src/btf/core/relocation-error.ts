/** The error of a CO-RE relocation that cannot be applied (as opposed to one that is poisoned). */
import { TsbpfError } from "../../errors.js";
import type { CoreReloKind } from "../ext.js";

/**
 * A CO-RE relocation could not be applied: the object's access string does not fit its own
 * BTF, two kernel candidates disagree, or the instruction does not hold what the compiler
 * should have written. Names the program, the relocation index, its kind and the C access.
 */
export class CoreRelocationError extends TsbpfError {
  readonly program: string;
  readonly relocation: number;
  readonly kind: CoreReloKind;
  /** The access as C text, e.g. `struct task_struct.pid`. */
  readonly access: string;
  constructor(program: string, relocation: number, kind: CoreReloKind, access: string, problem: string, fix: string) {
    super(`program "${program}": CO-RE relocation #${relocation} (${kind} of ${access}): ${problem} (${fix})`);
    this.program = program;
    this.relocation = relocation;
    this.kind = kind;
    this.access = access;
  }
}
