/**
 * A storm of one signal sent to this process by a child shell, for tests of what a long
 * synchronous call does when signals arrive during it. `await signalStorm(...)` returns once
 * the first signal has been handled, so the storm is known to be running; dispose to end it.
 */
import { spawn } from "node:child_process";

export interface SignalStorm extends AsyncDisposable {
  /** How many of the signals this process has handled so far. */
  readonly received: number;
  /** Resolves when the next signal has been handled (waits at most 5 s). */
  next(): Promise<void>;
}

export async function signalStorm(signal: "SIGWINCH" | "SIGTERM" | "SIGUSR2"): Promise<SignalStorm> {
  let received = 0;
  let waiter: (() => void) | undefined;
  const onSignal = (): void => {
    received++;
    waiter?.();
  };
  process.on(signal, onSignal);
  // One signal a millisecond, not as fast as the shell can: libuv hands each signal to the event
  // loop through a 64 KiB pipe (4,096 signals) and drops what does not fit, and a flood during a
  // long synchronous call filled it, so the SIGCHLD of the sender's own exit was dropped and
  // its 'exit' never came (a 60 s hang in CI). `read -t` is the pause (no process per pause);
  // it returns at once when stdin closes, which is how the storm ends. A bounded loop (at most
  // ~60 s) so a lost child can never storm forever.
  const child = spawn(
    "bash",
    ["-c", `end=$((SECONDS+60)); while [ $SECONDS -lt $end ]; do kill -s ${signal.slice(3)} ${process.pid} || exit 0; read -r -t 0.001; [ $? -gt 128 ] || exit 0; done`],
    { stdio: ["pipe", "ignore", "ignore"] },
  );
  const next = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${signal} within 5 s`)), 5000);
      waiter = () => {
        clearTimeout(timer);
        waiter = undefined;
        resolve();
      };
    });
  await next();
  return {
    get received() {
      return received;
    },
    next,
    // Stop the storm and wait until the sender is gone and every signal it sent has been
    // handled here: a stop signal left pending would interrupt a later test's run (EINTR), and
    // one landing after the handler is removed would end the process.
    async [Symbol.asyncDispose]() {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
      child.stdin.end();
      await exited;
      await new Promise((r) => setTimeout(r, 100));
      process.off(signal, onSignal);
    },
  };
}
