/**
 * Every fast-check property in the suite runs with one fixed seed, so a run cannot flap: a
 * failure is the same failure on every machine. fast-check prints the seed and path of a
 * failure; to search wider, run with another seed: `TSBPF_FC_SEED=12345 npm test`. A
 * counterexample found that way becomes a named regression case beside its property.
 */
import fc from "fast-check";

/** The suite's default seed (any fixed number would do; this one is the date it was fixed). */
export const DEFAULT_FC_SEED = 20261204;

function seedFromEnv(): number {
  const raw = process.env.TSBPF_FC_SEED;
  if (raw === undefined || raw === "") return DEFAULT_FC_SEED;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`TSBPF_FC_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

export const fcSeed = seedFromEnv();
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: fcSeed });
