/**
 * tsbpf's error classes. Few classes, each carrying facts; guards check a brand rather than
 * `instanceof`, because an ESM and a CJS copy of tsbpf can both be loaded in one process.
 */

import { readFileSync } from "node:fs";

const BRAND = Symbol.for("tsbpf.error");

/** Base class of every error tsbpf throws on purpose. */
export class TsbpfError extends Error {
  /** @internal */
  readonly [BRAND]: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this[BRAND] = new.target.name;
  }
}

/**
 * The errno values tsbpf names, by name (x86_64 / generic Linux; `ENOTSUPP` is the kernel's
 * internal 524 that bpf(2) can leak). The one errno table: modules take the numbers they
 * compare against from here (`const { ENOENT } = Errno`).
 */
export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18,
  ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, EFBIG: 27,
  ENOSPC: 28, EROFS: 30, EPIPE: 32, ERANGE: 34, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39,
  ELOOP: 40, ENODATA: 61, ETIME: 62, EPROTO: 71, EOVERFLOW: 75, EBADFD: 77, ENOTSOCK: 88,
  EMSGSIZE: 90, ENOPROTOOPT: 92, EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, EAFNOSUPPORT: 97,
  EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100, ENOBUFS: 105, ETIMEDOUT: 110,
  ECONNREFUSED: 111, EALREADY: 114, EINPROGRESS: 115, ESTALE: 116, EDQUOT: 122, ENOTSUPP: 524,
} as const;

/** Names of the errno values tsbpf reports, by number. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.freeze(
  Object.fromEntries(Object.entries(Errno).map(([name, n]) => [n, name])),
);

/** The errno name for a number (`22` → `"EINVAL"`), or `"E<n>"` when unknown. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/** Capability numbers that decide whether EPERM can be a lack of privilege. */
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;

let privileged: boolean | undefined;
/**
 * Whether this process holds CAP_SYS_ADMIN or CAP_BPF (from /proc/self/status, read once). When
 * it does, EPERM from bpf(2) is not a lack of privilege and the hint must not say so.
 */
export function holdsBpfPrivilege(): boolean {
  if (privileged === undefined) {
    let eff = 0n;
    try {
      const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
      if (m) eff = BigInt(`0x${m[1]}`);
    } catch {
      // No procfs: assume nothing is held, the old hint is then the likely one.
    }
    privileged = ((eff >> BigInt(CAP_SYS_ADMIN)) & 1n) === 1n || ((eff >> BigInt(CAP_BPF)) & 1n) === 1n;
  }
  return privileged;
}

function readSetting(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * The hint for EPERM. `needs` names the privileges the operation takes; when the process holds
 * them already, the hint says instead that something beyond privileges refused it, and what
 * to check (with the lockdown and unprivileged_bpf_disabled settings as read now).
 */
export function permissionHint(needs = "root or CAP_BPF (and CAP_PERFMON/CAP_NET_ADMIN for some kinds)"): string {
  if (!holdsBpfPrivilege()) return `needs ${needs}`;
  const lockdown = readSetting("/sys/kernel/security/lockdown");
  const unpriv = readSetting("/proc/sys/kernel/unprivileged_bpf_disabled");
  const settings = [
    lockdown !== undefined ? `lockdown: ${lockdown}` : undefined,
    unpriv !== undefined ? `kernel.unprivileged_bpf_disabled = ${unpriv}` : undefined,
  ].filter((x) => x !== undefined);
  return (
    "refused although this process holds CAP_SYS_ADMIN/CAP_BPF: not a lack of privilege but a policy — " +
    "a sandbox or security module (seccomp, SELinux/AppArmor, a BPF LSM), kernel lockdown, or a sysctl; " +
    `check the sandbox's policy and dmesg${settings.length > 0 ? ` (${settings.join(", ")})` : ""}`
  );
}

/** What to check for an errno, when there is something useful to say (EPERM: permissionHint). */
const ERRNO_HINTS: Readonly<Record<string, string>> = {
  EACCES: "the verifier or a permission check refused it",
  EBADF: "a file descriptor passed in is closed or of the wrong kind",
  E2BIG: "a size or count is larger than the kernel accepts (or attr has unknown non-zero fields)",
  ENOSPC: "the map is full, or a log buffer was too small",
  ENOENT: "no such element, object or attach target",
  EEXIST: "the element or object already exists",
  EINVAL: "an argument is invalid for this kernel (type, size, flags or attach type)",
  EOPNOTSUPP: "this kernel does not support the operation",
  ENOTSUPP: "this kernel does not support the operation",
  ENOMEM: "out of memory (on kernels before 5.11, raise RLIMIT_MEMLOCK)",
  EBUSY: "the target is busy, e.g. another program is attached",
};

/**
 * A system call failed. `syscall` is the call (`"bpf"`, `"perf_event_open"`, `"ioctl"`…),
 * `command` the bpf(2) command or operation name when there is one.
 */
export class SyscallError extends TsbpfError {
  readonly syscall: string;
  readonly command: string;
  readonly errno: number;
  readonly code: string;
  constructor(
    syscall: string,
    command: string,
    errno: number,
    options?: { context?: string; hint?: string; cause?: unknown },
  ) {
    const code = errnoName(errno);
    const hint = options?.hint ?? (code === "EPERM" ? permissionHint() : ERRNO_HINTS[code]);
    const prefix = options?.context ? `${options.context}: ` : "";
    super(`${prefix}${code} from ${command}${hint ? ` (${hint})` : ""}`, { cause: options?.cause });
    this.syscall = syscall;
    this.command = command;
    this.errno = errno;
    this.code = code;
  }
}

/** A bpf(2) command failed: `command` is its UAPI name (`"BPF_MAP_CREATE"`). */
export class BpfError extends SyscallError {
  constructor(command: string, errno: number, options?: { context?: string; hint?: string; cause?: unknown }) {
    super("bpf", command, errno, options);
  }
}

/** How many log lines a VerifierError's message shows. */
const VERIFIER_TAIL_LINES = 8;

/** A source line of a program, from its `.BTF.ext` line info: the code that starts at instruction slot `insn`. */
export interface VerifierSourceLine {
  readonly insn: number;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly text: string;
}

/**
 * What a rejected load knew besides the log, for explaining it: the program's type and license,
 * its instructions as loaded (opcode, src and imm are enough), its line info resolved to text
 * and its functions' start slots.
 */
export interface VerifierContext {
  readonly programType?: string | number;
  readonly license?: string;
  readonly instructions?: readonly { readonly opcode: number; readonly src: number; readonly imm: number | bigint }[];
  readonly sourceLines?: readonly VerifierSourceLine[];
  readonly subprograms?: readonly { readonly name: string; readonly start: number }[];
}

/** Why the verifier refused a program, in words: see docs/verifier.md for the catalogue of categories. */
export interface VerifierExplanation {
  /** The catalogue entry (`"null-map-value"`, `"packet-bounds"`…). */
  readonly category: string;
  /** A few words naming the problem. */
  readonly title: string;
  /** What is wrong, in one sentence. */
  readonly cause: string;
  /** What to change. */
  readonly fix: string;
  /** The verifier's own error line that was recognised. */
  readonly error: string;
  /** The instruction slot the explanation is about, with its text when the log shows it. */
  readonly instruction?: { readonly index: number; readonly text?: string };
  /** Its source line: file, line, column (from .BTF.ext; the log's own quotes have no column) and text. */
  readonly source?: { readonly file?: string; readonly line?: number; readonly column?: number; readonly text?: string };
  /** The verifier's state of the registers involved, before the instruction. */
  readonly registers?: Readonly<Record<string, string>>;
  /** The function (main program or subprogram) that holds the instruction, when known. */
  readonly subprogram?: string;
}

type Explainer = (log: readonly string[], context: VerifierContext) => VerifierExplanation | undefined;
let explainer: Explainer | undefined;

/**
 * @internal Install the explainer (src/verifier does, when the package entry is imported), so
 * errors.ts needs nothing from the layers above it.
 */
export function setVerifierExplainer(fn: Explainer | undefined): void {
  explainer = fn;
}

function formatExplanation(e: VerifierExplanation): string {
  const where = e.source?.file !== undefined && e.source.line !== undefined
    ? ` at ${e.source.file}:${e.source.line}${e.source.column ? `:${e.source.column}` : ""}`
    : e.instruction ? ` at instruction ${e.instruction.index}` : "";
  const out = [`\n  ${e.title}${where}${e.subprogram ? ` (in ${e.subprogram})` : ""} [${e.category}]`];
  if (e.source?.text) out.push(`    | ${e.source.text}`);
  out.push(`  cause: ${e.cause}`, `  fix: ${e.fix}`);
  if (e.instruction?.text !== undefined) {
    const regs = e.registers ? Object.entries(e.registers).map(([k, v]) => `${k}=${v}`).join(" ") : "";
    out.push(`  instruction ${e.instruction.index}: ${e.instruction.text}${regs ? `  (${regs})` : ""}`);
  }
  return out.join("\n");
}

/**
 * The verifier refused a program. `log` holds every line of the verifier's log; `explanation`
 * says, for the rejections of the catalogue (docs/verifier.md), what is wrong, where and what to
 * change. The message shows the explanation, then the last lines of the log and how many were
 * left out.
 */
export class VerifierError extends BpfError {
  readonly log: readonly string[];
  /** Whether the log is incomplete: the kernel's log exceeded the largest buffer it accepts. */
  readonly truncated: boolean;
  #context: VerifierContext;
  #explanation: VerifierExplanation | null | undefined;
  #prefix = "";
  #head: string;
  #tail: string;
  constructor(
    command: string,
    errno: number,
    log: string,
    options?: { context?: string; truncated?: boolean; program?: VerifierContext },
  ) {
    const lines = log.split("\n").map((l) => l.trimEnd()).filter((l) => l.length > 0);
    const tail = lines.slice(-VERIFIER_TAIL_LINES);
    const omitted = lines.length - tail.length;
    const detail = tail.length
      ? `\n${omitted > 0 ? `  (${omitted} earlier log lines omitted)\n` : ""}${tail.map((l) => `  ${l}`).join("\n")}`
      : " (the kernel gave no verifier log)";
    // EPERM with a log is a permission check after verification started, not a verdict on the code.
    const hint = errno === 1 ? `${permissionHint()}; the log is what the kernel printed before refusing` : "verifier rejected the program";
    super(command, errno, { context: options?.context, hint });
    this.#head = this.message;
    this.#tail = detail + (options?.truncated ? "\n  (the log is incomplete: it exceeded the kernel's largest log buffer)" : "");
    this.log = lines;
    this.truncated = options?.truncated ?? false;
    this.#context = options?.program ?? {};
    // The message is built when read, so context added later (line info) shows in it.
    Object.defineProperty(this, "message", {
      configurable: true,
      enumerable: false,
      get: () => this.#message(),
      set: (v: string) => {
        // `e.message = \`${what}: ${e.message}\`` (how callers add their context) keeps the rest live.
        const now = this.#message();
        if (typeof v === "string" && v.endsWith(now)) this.#prefix = v.slice(0, v.length - now.length) + this.#prefix;
        else Object.defineProperty(this, "message", { value: v, configurable: true, writable: true, enumerable: false });
      },
    });
  }

  #message(): string {
    const e = this.explanation;
    return `${this.#prefix}${this.#head}${e ? formatExplanation(e) : ""}${this.#tail}`;
  }

  /**
   * Why the verifier refused the program, when the rejection is one tsbpf knows (see
   * docs/verifier.md); undefined otherwise, or when the explainer is not installed (it is
   * whenever the "tsbpf" entry point is imported). Computed on first read.
   */
  get explanation(): VerifierExplanation | undefined {
    if (this.#explanation === undefined) {
      if (!explainer) return undefined;
      try {
        this.#explanation = explainer(this.log, this.#context) ?? null;
      } catch {
        this.#explanation = null; // an explanation is a help, never a second failure
      }
    }
    return this.#explanation ?? undefined;
  }

  /** What the load knew about the program (type, license, instructions, line info). */
  get program(): VerifierContext {
    return this.#context;
  }

  /** @internal Add what a caller knows about the program (e.g. line info from the object), and explain again. */
  addProgramContext(context: VerifierContext): void {
    this.#context = { ...this.#context, ...context };
    this.#explanation = undefined;
  }
}

/**
 * The running kernel lacks a feature, or refuses it. `feature` names it; `minKernel` is the
 * first mainline release that has it ("5.8"). `refused` is true when the kernel knows the
 * feature but answered EPERM (missing privilege, a sandbox or an LSM policy): upgrading the
 * kernel will not help, changing the policy or the privileges will.
 */
export class NotSupportedError extends TsbpfError {
  readonly feature: string;
  readonly minKernel?: string;
  readonly refused: boolean;
  constructor(feature: string, options?: { minKernel?: string; detail?: string; refused?: boolean; cause?: unknown }) {
    const refused = options?.refused ?? false;
    const since = options?.minKernel
      ? refused
        ? ` (the kernel has it since Linux ${options.minKernel}, but refused it)`
        : ` (requires Linux ${options.minKernel} or later)`
      : "";
    const what = refused ? "is refused on this system" : "is not supported by this kernel";
    super(`${feature} ${what}${since}${options?.detail ? `: ${options.detail}` : ""}`, {
      cause: options?.cause,
    });
    this.feature = feature;
    this.minKernel = options?.minKernel;
    this.refused = refused;
  }
}

/** An object (map, program, link, fd) was used after it was closed. */
export class ClosedError extends TsbpfError {
  constructor(what: string) {
    super(`${what} is closed: it cannot be used after close() or dispose`);
  }
}

/**
 * Input that tsbpf parses (ELF, BTF, instructions, assembler text) is malformed.
 * `offset` is a byte offset (binary input) when known; `line`/`column` for text input.
 */
export class ParseError extends TsbpfError {
  readonly offset?: number;
  readonly line?: number;
  readonly column?: number;
  constructor(message: string, where?: { offset?: number; line?: number; column?: number; cause?: unknown }) {
    super(message, { cause: where?.cause });
    this.offset = where?.offset;
    this.line = where?.line;
    this.column = where?.column;
  }
}

function hasBrand(e: unknown, names: readonly string[]): boolean {
  if (typeof e !== "object" || e === null) return false;
  const brand = (e as Record<symbol, unknown>)[BRAND];
  return typeof brand === "string" && names.includes(brand);
}

/** Whether `e` is any tsbpf error, from this or another copy of the library. */
export function isTsbpfError(e: unknown): e is TsbpfError {
  return typeof e === "object" && e !== null && typeof (e as Record<symbol, unknown>)[BRAND] === "string";
}
export function isSyscallError(e: unknown): e is SyscallError {
  return hasBrand(e, ["SyscallError", "BpfError", "VerifierError"]);
}
export function isBpfError(e: unknown): e is BpfError {
  return hasBrand(e, ["BpfError", "VerifierError"]);
}
export function isVerifierError(e: unknown): e is VerifierError {
  return hasBrand(e, ["VerifierError"]);
}
export function isNotSupportedError(e: unknown): e is NotSupportedError {
  return hasBrand(e, ["NotSupportedError"]);
}
export function isClosedError(e: unknown): e is ClosedError {
  return hasBrand(e, ["ClosedError"]);
}
export function isParseError(e: unknown): e is ParseError {
  return hasBrand(e, ["ParseError"]);
}

/**
 * The TypeError for a key that an options object (or a spec) does not have:
 * `Collection.load: unknown option "bogus" (known: programs, maps, …)`. For hot paths that
 * check keys while reading them; everything else calls checkOptions.
 */
export function unknownOption(what: string, key: string, known: Iterable<string>, noun = "option"): TypeError {
  return new TypeError(`${what}: unknown ${noun} ${JSON.stringify(key)} (known: ${[...known].join(", ")})`);
}

/**
 * Reject keys that an options object (or, with `noun` "field", a spec) does not have: from JS a
 * typo would otherwise be ignored silently. `undefined` passes; anything else that is not an
 * object is refused. Throws TypeError (see unknownOption).
 */
export function checkOptions(what: string, options: object | undefined, known: readonly string[] | ReadonlySet<string>, noun = "option"): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) throw new TypeError(`${what}: ${noun}s must be an object`);
  const has = Array.isArray(known) ? (k: string) => (known as readonly string[]).includes(k) : (k: string) => (known as ReadonlySet<string>).has(k);
  for (const k of Object.keys(options)) if (!has(k)) throw unknownOption(what, k, known, noun);
}
