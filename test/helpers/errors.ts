/** Assertions about the errors tsbpf throws. */
import { isBpfError, type BpfError } from "../../src/errors.js";

/** The BpfError that `f` throws; any other outcome (no throw, another error) fails the test. */
export function bpfErrorOf(f: () => unknown): BpfError {
  try {
    f();
  } catch (e) {
    if (isBpfError(e)) return e;
    throw e;
  }
  throw new Error("expected a BpfError");
}
