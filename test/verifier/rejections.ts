/**
 * Loading the deliberately wrong programs of bpf/verifier/ (one per catalogue entry) and
 * collecting their VerifierErrors once for the tests that need them. The line each program is
 * rejected at is marked `// REJECTED` in its source.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Collection, CollectionSpec, isVerifierError, type VerifierError } from "../../src/index.js";
import { repoRoot } from "../helpers/docs.js";

export const VERIFIER_DIR = join(repoRoot, "bpf/verifier");

/** Every wrong program: its object's base name. */
export const WRONG_PROGRAMS: readonly string[] = readdirSync(VERIFIER_DIR)
  .filter((f) => f.endsWith(".c"))
  .map((f) => f.slice(0, -2))
  .sort();

/** The source line marked `// REJECTED` in bpf/verifier/<name>.c. */
export function markedLine(name: string): number {
  const lines = readFileSync(join(VERIFIER_DIR, `${name}.c`), "utf8").split("\n");
  const at = lines.findIndex((l) => l.includes("// REJECTED"));
  if (at < 0) throw new Error(`${name}.c has no // REJECTED marker`);
  return at + 1;
}

const cache = new Map<string, VerifierError>();

/** Load bpf/verifier/<name>.o and return the VerifierError it must end in (cached). */
export function rejectionOf(name: string): VerifierError {
  const hit = cache.get(name);
  if (hit) return hit;
  let error: unknown;
  try {
    Collection.load(CollectionSpec.fromFile(join(VERIFIER_DIR, `${name}.o`))).close();
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error(`${name}.o was loaded: the verifier did not reject it`);
  // A CO-RE poison error keeps the verifier's error as its cause.
  const v = isVerifierError(error) ? error : isVerifierError((error as Error).cause) ? ((error as Error).cause as VerifierError) : undefined;
  if (!v) throw error;
  cache.set(name, v);
  return v;
}
