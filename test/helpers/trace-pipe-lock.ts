/**
 * trace_pipe gives each line to one reader in the whole machine, and vitest runs test files in
 * parallel: every test that reads it holds this lock (a directory made atomically, with the
 * holder's pid so a crashed holder's lock is taken over), so two readers never race for lines.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LOCK = join(tmpdir(), "tsbpf-trace-pipe.lock");

function holderAlive(): boolean {
  try {
    const pid = Number(readFileSync(join(LOCK, "pid"), "utf8"));
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // No pid file yet (being made) counts as alive; a dead pid (ESRCH) does not.
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Run `fn` while holding the machine-wide trace_pipe lock (waits up to `waitMs`). */
export async function withTracePipe<T>(fn: () => T | Promise<T>, waitMs = 120_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (!holderAlive()) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`trace_pipe is held by another test for over ${waitMs} ms (${LOCK})`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
