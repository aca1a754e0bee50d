/**
 * A user's opensnoop over generated bindings (docs/gen.md): no `as`, no `!`, no `any`, and it
 * type-checks under --strict --noUncheckedIndexedAccess --exactOptionalPropertyTypes.
 */
import { closeSync, openSync } from "node:fs";
import { loadSpec, type Event } from "../golden/opensnoop_rb.js";

/** Trace this process's opens of `path` until one is seen (or `timeoutMs` passes). */
export async function traceOwnOpen(path: string, timeoutMs = 5000): Promise<{ event: Event | undefined; dropped: bigint }> {
  const spec = loadSpec();
  spec.variables.target_tgid.value = process.pid; // a constant: set before load
  using obj = spec.load();
  using links = obj.attachAll(); // the tracepoint, by its section
  using events = obj.ringBuf("events", "event");
  closeSync(openSync(path, "r"));
  const deadline = Date.now() + timeoutMs;
  let found: Event | undefined;
  while (found === undefined && Date.now() < deadline) {
    const e = await events.read({ timeoutMs: Math.max(1, deadline - Date.now()) });
    if (e === undefined) break;
    if (e.filename === path) found = e;
  }
  void links;
  return { event: found, dropped: obj.variables.dropped.value };
}
