/**
 * File descriptor ownership. Every live kernel object (map, program, link, BTF, perf event)
 * owns exactly one Fd; closing is idempotent, `using` closes it, and a FinalizationRegistry
 * closes what a caller forgot (the safety net, not the plan).
 */
import { readFileSync } from "node:fs";
import { ClosedError, SyscallError } from "../errors.js";
import { closeFd, errno, NativeMemory, SYS, syscall3 } from "./libc.js";

const F_DUPFD_CLOEXEC = 1030;

interface Held {
  fd: number;
  stack?: string;
}

/** Set TSBPF_TRACE_FDS=1 to record where each forgotten fd was opened. */
const trace = process.env.TSBPF_TRACE_FDS === "1";
const forgotten: string[] = [];

const registry = new FinalizationRegistry<Held>((held) => {
  if (held.fd >= 0) {
    if (trace) forgotten.push(held.stack ?? `fd ${held.fd}`);
    closeFd(held.fd);
  }
});

/** Where forgotten fds were opened (only with TSBPF_TRACE_FDS=1). For tests. */
export function forgottenFds(): readonly string[] {
  return forgotten;
}

/** An owned file descriptor. */
export class Fd implements Disposable {
  readonly #held: Held;
  /** What this fd is, for error messages ("map counts", "program xdp_prog"). */
  readonly what: string;

  constructor(fd: number, what = "file descriptor") {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`invalid file descriptor ${fd}`);
    this.what = what;
    this.#held = { fd, stack: trace ? new Error().stack : undefined };
    registry.register(this, this.#held, this);
  }

  /** The raw fd number. Throws ClosedError once closed. */
  get value(): number {
    if (this.#held.fd < 0) throw new ClosedError(this.what);
    return this.#held.fd;
  }

  get closed(): boolean {
    return this.#held.fd < 0;
  }

  /** Close the fd. Calling it again does nothing. */
  close(): void {
    const fd = this.#held.fd;
    if (fd < 0) return;
    this.#held.fd = -1;
    registry.unregister(this);
    closeFd(fd);
  }

  /** A new Fd for the same kernel object (close-on-exec). */
  dup(): Fd {
    const fd = syscall3(SYS.fcntl, this.value, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) throw new SyscallError("fcntl", "F_DUPFD_CLOEXEC", errno(), { context: `dup ${this.what}` });
    return new Fd(fd, this.what);
  }

  /** Stop owning the fd and return its number: the caller now closes it. */
  disown(): number {
    const fd = this.value;
    this.#held.fd = -1;
    registry.unregister(this);
    return fd;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;

/** open(2) a path read-only, close-on-exec. Throws SyscallError. */
export function openPath(path: string, flags = O_RDONLY): Fd {
  const enc = new TextEncoder().encode(path);
  const mem = new NativeMemory(enc.length + 1);
  mem.bytes.set(enc);
  const fd = syscall3(SYS.openat, AT_FDCWD, mem.address, flags | O_CLOEXEC);
  if (fd < 0) throw new SyscallError("openat", "openat", errno(), { context: `open ${path}` });
  return new Fd(fd, path);
}

/**
 * What the kernel prints in /proc/self/fdinfo for `fd` (a BPF object's type, memlock,
 * frozen…), or undefined where procfs is missing.
 */
export function readFdinfo(fd: Fd | number): string | undefined {
  try {
    return readFileSync(`/proc/self/fdinfo/${typeof fd === "number" ? fd : fd.value}`, "utf8");
  } catch {
    return undefined;
  }
}

/** A numeric field of fdinfo text (`memlock:\t4096`), or undefined when absent. */
export function fdinfoNumber(text: string | undefined, field: string): number | undefined {
  const m = text === undefined ? null : new RegExp(`^${field}:\\s*(\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}
