/**
 * The BPF_PROG_LOAD policy: validate a spec, resolve its references, load without a log, and on
 * failure load again with a log that grows until the whole verifier log fits. EAGAIN (the
 * verifier was interrupted) is retried.
 */
import { encodeInstructions } from "../asm/encoding.js";
import { Errno, BpfError, VerifierError, checkOptions } from "../errors.js";
import { raiseMemlockLimitIfCharged } from "../features/memlock.js";
import { Fd } from "../sys/fd.js";
import { NativeMemory } from "../sys/libc.js";
import { withReportSignalsDeferred } from "../sys/signals.js";
import { MAX_LOG_SIZE, progLoad, type ProgLoadAttr } from "../sys/prog-attr.js";
import { checkSpecKeys, kernelProgramName, type ProgramSpec } from "../spec/program-spec.js";
import { attachTypeNumber, programTypeName, programTypeNumber, type ProgramTypeName } from "../spec/program-type.js";
import type { FdSlot } from "../asm/encoding.js";
import { encodeForLoad, refillFds } from "./encode-for-load.js";
import { resolveReferences } from "./resolve-references.js";

const { EAGAIN, ENOSPC, EPERM } = Errno;

/** Something that is, or has, a map's fd: a `BpfMap`, an fd number, or an object with `fd`. */
export type MapFdLike = number | { readonly fd: number | { readonly value: number } };

/** Options of `Program.load`. */
export interface ProgramLoadOptions {
  /** Maps that `ld_imm64` instructions refer to by name (`reference: { kind: "map", name }`). */
  maps?: Readonly<Record<string, MapFdLike>>;
  /** The loaded BTF that `spec.btf`'s func/line info refers to: its fd, or an object with `fd`. */
  btf?: MapFdLike;
  /**
   * Verifier log level for the first load (1 = basic, 2 = verbose, 4 = stats; may be OR-ed). When
   * set, the log of a successful load is kept in `Program.verifierLog`. Unset: no log unless
   * the load fails.
   */
  logLevel?: number;
  /** First size of the log buffer in bytes; it grows until the whole log fits. Default 64 KiB. */
  logSize?: number;
  /**
   * `fd_array` (Linux 5.14): maps (or BTF objects) that `ld_imm64` with BPF_PSEUDO_MAP_IDX /
   * BPF_PSEUDO_MAP_IDX_VALUE and kfunc calls into modules refer to by index.
   */
  fdArray?: readonly MapFdLike[];
}

const LOAD_KEYS = new Set(["maps", "btf", "logLevel", "logSize", "fdArray"]);
const EAGAIN_RETRIES = 10;
const DEFAULT_LOG_SIZE = 64 * 1024;

/**
 * @internal Kernel bytes of a spec's instructions kept between loads by a caller that knows the
 * instructions have not changed since (the collection loader, for ELF programs no user code has
 * read): empty until a load records them, then refilled with the maps' fds on each load. Such
 * a caller builds the spec and the options itself from known fields, so their keys are not
 * checked again.
 */
export interface KeptCode {
  bytes?: Uint8Array;
  fdSlots: FdSlot[];
}

/** What loadProgram made: the fd (caller owns it), the kernel name, type, and the log if kept. */
export interface LoadedProgram {
  fd: Fd;
  name: string;
  type: ProgramTypeName | number;
  typeNumber: number;
  log?: string;
}

function fieldName(what: string, field: string, name: string | undefined): string {
  return name === undefined ? `${what}: ${field}` : `${what}: ${field} "${name}"`;
}

/** The fd of `x`; `field` (and the map's `name`) only go into an error's message. */
function fdOf(x: MapFdLike, what: string, field: string, name?: string): number {
  if (typeof x === "number") {
    if (!Number.isInteger(x) || x < 0) throw new RangeError(`${fieldName(what, field, name)}: invalid fd ${x}`);
    return x;
  }
  if (typeof x !== "object" || x === null || !("fd" in x)) {
    throw new TypeError(`${fieldName(what, field, name)}: expected an fd or an object with an fd`);
  }
  const fd = x.fd;
  const n = typeof fd === "number" ? fd : fd.value; // .value throws ClosedError for a closed Fd
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${fieldName(what, field, name)}: invalid fd ${n}`);
  return n;
}

// The `what`/`field` pairs below build their message only on error: these run for every field
// of every program a collection loads.
function optionalU32(value: unknown, what: string, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${what}: ${field} must be a u32, got ${String(value)}`);
  }
  return value;
}

/** Check a record array: whole records of at least the kernel's minimum size. */
function records(bytes: Uint8Array | undefined, recSize: number | undefined, min: number, program: string, field: string): Uint8Array | undefined {
  if (bytes === undefined) return undefined;
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${program}: ${field} must be a Uint8Array`);
  const rec = recSize ?? min;
  if (!Number.isInteger(rec) || rec < min || rec > 0xffff) throw new RangeError(`${program}: ${field}: record size ${rec} must be at least ${min}`);
  if (bytes.length % rec !== 0) throw new RangeError(`${program}: ${field}: ${bytes.length} bytes is not a whole number of ${rec}-byte records`);
  return bytes;
}

function readLog(buffer: NativeMemory): string {
  const end = buffer.bytes.indexOf(0);
  return Buffer.from(buffer.bytes.subarray(0, end < 0 ? buffer.length : end)).toString("utf8");
}

function describe(spec: ProgramSpec): string {
  return spec.name ? `program "${spec.name}"` : "program";
}

/** Turn a spec into the plain attr values, validating every field first. */
function buildAttr(spec: ProgramSpec, options: ProgramLoadOptions, what: string, kept?: KeptCode): { attr: ProgLoadAttr; typeNumber: number } {
  if (typeof spec !== "object" || spec === null) throw new TypeError("Program.load: spec must be a ProgramSpec object");
  // With kept bytes the spec and options are the caller's own, made of known fields only.
  if (kept === undefined) {
    checkSpecKeys(spec);
    checkOptions(`${what}: load`, options, LOAD_KEYS);
  }
  const typeNumber = programTypeNumber(spec.type);
  // Kept bytes stand for the instructions (their caller knows them unchanged): not read here.
  if (kept?.bytes === undefined && (!Array.isArray(spec.instructions) || spec.instructions.length === 0)) {
    throw new TypeError(`${what}: instructions must be a non-empty array`);
  }
  if (spec.name !== undefined && typeof spec.name !== "string") throw new TypeError(`${what}: name must be a string`);
  if (spec.license !== undefined && (typeof spec.license !== "string" || spec.license.includes("\0"))) {
    throw new TypeError(`${what}: license must be a string without NUL bytes`);
  }
  if (spec.attachTarget !== undefined && spec.attachBtfObjFd !== undefined) {
    throw new TypeError(`${what}: attachTarget and attachBtfObjFd share one kernel field: give one of them`);
  }
  const maps = options.maps ?? {};
  if (typeof maps !== "object" || maps === null) throw new TypeError(`${what}: options.maps must be an object`);
  const lookup = (name: string): number | undefined =>
    Object.hasOwn(maps, name) ? fdOf(maps[name], what, "map", name) : undefined;
  // Kept bytes when the caller has them; else one pass for the usual list; the general path for
  // the rest and for every error message.
  const encoded =
    (kept !== undefined ? keptBytes(spec, kept, lookup) : encodeForLoad(spec.instructions, lookup)) ??
    encodeInstructions(resolveReferences(spec.instructions, lookup, what));
  const attr: ProgLoadAttr = {
    progType: typeNumber,
    insns: encoded,
    license: spec.license ?? "GPL",
    name: spec.name !== undefined ? kernelProgramName(spec.name) : undefined,
    kernVersion: optionalU32(spec.kernelVersion, what, "kernelVersion"),
    progFlags: optionalU32(spec.flags, what, "flags"),
    ifindex: optionalU32(spec.ifindex, what, "ifindex"),
    expectedAttachType: spec.expectedAttachType === undefined ? undefined : attachTypeNumber(spec.expectedAttachType),
    attachBtfId: optionalU32(spec.attachBtfId, what, "attachBtfId"),
    attachFd: spec.attachTarget !== undefined
      ? fdOf(spec.attachTarget, what, "attachTarget")
      : optionalU32(spec.attachBtfObjFd, what, "attachBtfObjFd"),
  };
  if (options.fdArray !== undefined) {
    if (!Array.isArray(options.fdArray)) throw new TypeError(`${what}: options.fdArray must be an array`);
    attr.fdArray = options.fdArray.map((x, i) => fdOf(x, what, `fdArray[${i}]`));
  }
  const btf = spec.btf;
  if (btf !== undefined && (btf.funcInfo?.length || btf.lineInfo?.length)) {
    if (options.btf === undefined) {
      throw new TypeError(`${what}: spec.btf has func/line info but no loaded BTF was given (options.btf)`);
    }
    attr.btfFd = fdOf(options.btf, what, "btf");
    attr.funcInfo = records(btf.funcInfo, btf.funcInfoRecSize, 8, what, "btf.funcInfo");
    attr.funcInfoRecSize = btf.funcInfoRecSize;
    attr.lineInfo = records(btf.lineInfo, btf.lineInfoRecSize, 16, what, "btf.lineInfo");
    attr.lineInfoRecSize = btf.lineInfoRecSize;
  } else if (options.btf !== undefined) {
    attr.btfFd = fdOf(options.btf, what, "btf");
  }
  return { attr, typeNumber };
}

/**
 * The kept bytes with this load's map fds, recording them first when there are none yet (or
 * they cannot take these maps): encodeForLoad's answer, undefined when it leaves the list to
 * the general path.
 */
function keptBytes(spec: ProgramSpec, kept: KeptCode, lookup: (name: string) => number | undefined): Uint8Array | undefined {
  if (kept.bytes !== undefined && refillFds(kept.bytes, kept.fdSlots, lookup)) return kept.bytes;
  const fdSlots: FdSlot[] = [];
  const bytes = encodeForLoad(spec.instructions, lookup, fdSlots);
  if (bytes !== undefined) {
    kept.bytes = bytes;
    kept.fdSlots = fdSlots;
  }
  return bytes;
}

/**
 * One load, retried while the kernel answers EAGAIN, and once after an EPERM that raising
 * RLIMIT_MEMLOCK answers (a kernel before 5.11 charges programs to it).
 *
 * EAGAIN is the verifier stopping for a pending signal. The retries run with the signals that
 * only report deferred (SIGPROF, SIGCHLD, SIGUSR1/2, ...; withReportSignalsDeferred): a
 * profiler's SIGPROF every millisecond (`node --cpu-prof`) or a stream of SIGCHLD otherwise
 * interrupts every attempt at a program the verifier takes longer than that over. Stop
 * signals stay deliverable, so Ctrl-C still ends a long verification.
 */
function loadOnce(attr: ProgLoadAttr): ReturnType<typeof progLoad> {
  let r = progLoad(attr);
  if (r.fd < 0 && r.errno === EAGAIN) {
    r = withReportSignalsDeferred(() => {
      let again = progLoad(attr);
      for (let i = 1; i < EAGAIN_RETRIES && again.fd < 0 && again.errno === EAGAIN; i++) again = progLoad(attr);
      return again;
    });
  }
  if (r.fd < 0 && r.errno === EPERM && raiseMemlockLimitIfCharged()) return loadOnce(attr);
  return r;
}

/**
 * Load `spec` into the kernel. Returns an owned Fd (the caller closes it). Throws TypeError /
 * RangeError for a bad spec (before any syscall), VerifierError with the whole log when the
 * verifier refuses the program, BpfError when the kernel refuses it without a log (EPERM,
 * EINVAL for an unknown type…).
 */
export function loadProgram(spec: ProgramSpec, options: ProgramLoadOptions = {}, kept?: KeptCode): LoadedProgram {
  const what = describe(spec);
  const { attr, typeNumber } = buildAttr(spec, options, what, kept);
  const type = programTypeName(typeNumber) ?? typeNumber;
  const name = attr.name ?? "";
  const logLevel = optionalU32(options.logLevel, what, "logLevel");
  let logSize = optionalU32(options.logSize, what, "logSize") ?? DEFAULT_LOG_SIZE;
  if (logSize < 128 || logSize > MAX_LOG_SIZE) throw new RangeError(`${what}: logSize must be between 128 and ${MAX_LOG_SIZE}`);

  if (logLevel === undefined || logLevel === 0) {
    const r = loadOnce(attr);
    if (r.fd >= 0) return { fd: new Fd(r.fd, what), name, type, typeNumber };
  }

  // Load (again) with a log, growing the buffer until the whole log fits.
  const level = logLevel || 1;
  for (;;) {
    const buffer = new NativeMemory(logSize);
    const r = loadOnce({ ...attr, log: { level, buffer } });
    const log = readLog(buffer);
    const needMore = r.fd < 0 && r.errno === ENOSPC && (r.logTrueSize > logSize || r.logTrueSize === 0);
    if (needMore && logSize < MAX_LOG_SIZE) {
      // log_true_size (6.4+) says exactly how much; older kernels only say it did not fit.
      logSize = Math.min(MAX_LOG_SIZE, r.logTrueSize > logSize ? r.logTrueSize : logSize * 4);
      continue;
    }
    if (r.fd >= 0) return { fd: new Fd(r.fd, what), name, type, typeNumber, log: logLevel ? log : undefined };
    const context = `${what}: load`;
    if (log.trim().length === 0) throw new BpfError("BPF_PROG_LOAD", r.errno, { context });
    throw new VerifierError("BPF_PROG_LOAD", r.errno, log, {
      context,
      truncated: needMore,
      program: { programType: type, license: attr.license, instructions: spec.instructions },
    });
  }
}
