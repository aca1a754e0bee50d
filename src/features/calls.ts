/**
 * The few kernel calls probes make, each closing what it creates before it returns: load a
 * tiny program, create a tiny map. They never throw for a kernel refusal; the errno comes back
 * for the probe to classify.
 */
import type { Instruction } from "../asm/instruction.js";
import { encodeInstructions } from "../asm/encoding.js";
import { BpfError, isBpfError } from "../errors.js";
import { Fd } from "../sys/fd.js";
import { NativeMemory } from "../sys/libc.js";
import { mapCreate, type MapCreateAttr } from "../sys/map-attr.js";
import { progLoad, type ProgLoadAttr } from "../sys/prog-attr.js";

/** A probe program: what BPF_PROG_LOAD needs, with instructions as data. */
export interface ProbeProgram extends Omit<ProgLoadAttr, "insns" | "license" | "log"> {
  insns: readonly Instruction[] | Uint8Array;
  license?: string;
}

/** What a probe load answered: the errno (0 on success) and the verifier log when asked. */
export interface ProbeLoadResult {
  errno: number;
  log: string;
}

const LOG_SIZE = 4096;
let logBuffer: NativeMemory | undefined;

function attrOf(p: ProbeProgram, withLog: boolean): ProgLoadAttr {
  const insns = p.insns instanceof Uint8Array ? p.insns : encodeInstructions(p.insns);
  const attr: ProgLoadAttr = { ...p, insns, license: p.license ?? "GPL" };
  if (withLog) attr.log = { level: 1, buffer: (logBuffer ??= new NativeMemory(LOG_SIZE)) };
  return attr;
}

function logText(): string {
  const b = logBuffer!.bytes;
  const end = b.indexOf(0);
  return Buffer.from(b.subarray(0, end < 0 ? b.length : end)).toString("utf8");
}

/**
 * Load a probe program and close it at once. With `withLog`, the verifier's log (level 1, 4 KiB:
 * probe programs are two or three instructions) comes back too.
 */
export function tryLoad(p: ProbeProgram, withLog = false): ProbeLoadResult {
  const r = progLoad(attrOf(p, withLog));
  if (r.fd >= 0) new Fd(r.fd, "probe program").close();
  return { errno: r.errno, log: withLog ? logText() : "" };
}

/**
 * Load a probe program and keep it, for probes that go on to attach it. Returns the owned Fd
 * (the caller closes it) or the errno.
 */
export function loadKept(p: ProbeProgram): { fd: Fd } | { errno: number } {
  const r = progLoad(attrOf(p, false));
  return r.fd >= 0 ? { fd: new Fd(r.fd, "probe program") } : { errno: r.errno };
}

/** Create a probe map and close it at once. Returns 0 or the errno. */
export function tryCreateMap(a: MapCreateAttr): number {
  const r = createMapKept(a);
  if ("fd" in r) {
    r.fd.close();
    return 0;
  }
  return r.errno;
}

/** Create a probe map and keep it (the caller closes the Fd), or return the errno. */
export function createMapKept(a: MapCreateAttr): { fd: Fd } | { errno: number } {
  try {
    return { fd: new Fd(mapCreate(a, "feature probe"), "probe map") };
  } catch (e) {
    if (isBpfError(e)) return { errno: (e as BpfError).errno };
    throw e;
  }
}
