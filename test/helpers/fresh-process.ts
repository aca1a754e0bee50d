/**
 * An ES module script run in a fresh `node` process, with tsx so that it can import the
 * TypeScript sources, from the repository's root: for what only a new process shows (what a
 * first load does, what is loaded at import, what a cache file holds for the next process).
 * The caller asserts on stderr itself: most expect it empty, some expect a warning.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { repoRoot } from "./docs.js";

export interface FreshProcessOptions {
  /** The child's environment: this process's, with these over it. */
  env?: NodeJS.ProcessEnv;
  /** Kill the child after this long (a hang fails the test instead of holding the suite). Default 60 s. */
  timeoutMs?: number;
}

export function runInFreshProcess(script: string, options: FreshProcessOptions = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 60_000,
  });
}
