/**
 * Legacy probes through tracefs (`kprobe_events`, `uprobe_events`): for kernels without the
 * kprobe/uprobe PMU (before 4.17). A probe gets a unique name in the `tsbpf` group, becomes a
 * tracepoint, and is removed again when its Link closes.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { TsbpfError } from "../errors.js";
import { tracefsRoot } from "../sys/perf-event.js";

let counter = 0;

/** A unique probe event name for this process (pure apart from a counter). */
export function probeEventName(kind: "kprobe" | "uprobe", target: string): string {
  counter += 1;
  const clean = target.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 32);
  return `tsbpf_${kind[0]}${process.pid}_${counter}_${clean}`;
}

/**
 * Refuse what would change the meaning of a line written to `*_events`: tracefs splits a line at
 * whitespace and takes each line as one command, so a space or a newline in a path or symbol would
 * add arguments or whole probe definitions (of the caller's choosing). Throws TypeError.
 */
export function checkTracefsWord(what: string, value: string): void {
  if (typeof value !== "string" || value.length === 0) throw new TypeError(`${what} must be a non-empty string`);
  const bad = /[\s\x00-\x1f\x7f]/.exec(value);
  if (bad) {
    throw new TypeError(
      `${what} ${JSON.stringify(value)} holds ${JSON.stringify(bad[0])}: tracefs probe definitions are split at whitespace and lines, so it cannot be written there (use a path without whitespace, e.g. a symlink)`,
    );
  }
}

/** The line written to kprobe_events for a probe (pure). Throws TypeError for a symbol with whitespace. */
export function kprobeEventLine(name: string, symbol: string, offset: number, retprobe: boolean, maxActive = 0): string {
  checkTracefsWord("kprobe symbol", symbol);
  checkTracefsWord("probe name", name);
  const kind = retprobe ? (maxActive > 0 ? `r${maxActive}` : "r") : "p";
  return `${kind}:tsbpf/${name} ${symbol}${offset ? `+${offset}` : ""}`;
}

/** The line written to uprobe_events for a probe (pure). Throws TypeError for a path with whitespace or control characters. */
export function uprobeEventLine(name: string, path: string, offset: number, retprobe: boolean, refCtrOffset = 0): string {
  checkTracefsWord("uprobe binary path", path);
  checkTracefsWord("probe name", name);
  const ref = refCtrOffset ? `(0x${refCtrOffset.toString(16)})` : "";
  return `${retprobe ? "r" : "p"}:tsbpf/${name} ${path}:0x${offset.toString(16)}${ref}`;
}

/** The events file of a kind, or undefined when tracefs or the file is missing. */
export function probeEventsFile(kind: "kprobe" | "uprobe"): string | undefined {
  let root: string;
  try {
    root = tracefsRoot();
  } catch {
    return undefined;
  }
  const f = `${root}/${kind}_events`;
  return existsSync(f) ? f : undefined;
}

/**
 * Create a probe in tracefs and return its tracepoint id and a remover. Throws TsbpfError
 * with what the kernel said (tracefs writes fail with EINVAL/ENOENT for unknown targets).
 */
export function createTracefsProbe(kind: "kprobe" | "uprobe", name: string, line: string): { id: number; remove: () => void } {
  const file = probeEventsFile(kind);
  if (!file) throw new TsbpfError(`${kind} ${name}: ${kind}_events is missing from tracefs`);
  try {
    appendFileSync(file, `${line}\n`);
  } catch (e) {
    throw new TsbpfError(`${kind} ${name}: tracefs refused "${line}": ${(e as Error).message}`, { cause: e });
  }
  const remove = () => {
    try {
      appendFileSync(file, `-:tsbpf/${name}\n`);
    } catch {
      // already gone
    }
  };
  try {
    const id = Number.parseInt(readFileSync(`${tracefsRoot()}/events/tsbpf/${name}/id`, "utf8").trim(), 10);
    return { id, remove };
  } catch (e) {
    remove();
    throw new TsbpfError(`${kind} ${name}: created, but its id could not be read`, { cause: e });
  }
}
