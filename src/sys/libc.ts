/**
 * The koffi bindings to libc. This file and the rest of `src/sys/` are the only code in tsbpf
 * that imports koffi. Prototypes are fixed-arity: a variadic declaration costs about 3x per call.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type KoffiModule from "koffi";
import { SyscallError } from "../errors.js";

type Koffi = typeof KoffiModule;
let koffiModule: Koffi | undefined;

/**
 * koffi, loaded on first use (#19): its native module, libc's load and the prototypes below
 * were part of every `import "tsbpf"`, though opening an object, generating bindings or
 * `tsbpf inspect` make no system call.
 */
export function koffi(): Koffi {
  if (koffiModule) return koffiModule;
  const here = typeof __filename === "string" ? __filename : fileURLToPath(import.meta.url);
  return (koffiModule = koffiNative(here) ?? (createRequire(here)("koffi") as Koffi));
}

/**
 * koffi's native module, loaded from where koffi's own loader finds it on glibc Linux, or
 * undefined (then koffi's entry loads it). koffi's entry spent ~4 ms of a 5.5 ms cold load
 * before its dlopen (it compiles two loaders, reads node's ELF header to tell glibc from musl
 * and resolves its platform package), and resolving koffi with `require.resolve` from an ES
 * module still cost ~2.5 ms (the CommonJS loader's first use): a tenth of a first
 * `Collection.load`. So the package is found as Node would find it in a node_modules tree
 * (this file's directories upwards), and the addon is opened with `process.dlopen` and filed
 * in the require cache under its real path, so koffi's entry, if anyone loads it, gets this
 * same instance. The version check and the fallback leave any other layout (Yarn PnP, a
 * bundle elsewhere), musl or another platform to koffi's own path.
 */
function koffiNative(here: string): Koffi | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const dir = findPackage(dirname(here), "koffi");
    if (dir === undefined) return undefined;
    const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
    // The platform package sits beside koffi (hoisted, or pnpm's store) or below it (nested).
    const real = realpathSync(dir);
    const platform = `@koromix/koffi-linux-${process.arch}`;
    const base = [join(dirname(real), platform), join(real, "node_modules", platform)].find((d) => existsSync(d));
    if (base === undefined) return undefined;
    const file = realpathSync(join(base, `linux_${process.arch}`, "koffi.node"));
    const cache = (Module as unknown as { _cache: Record<string, { exports: unknown }> })._cache;
    let native = cache[file]?.exports as Koffi | undefined;
    if (native === undefined) {
      const m = new Module(file);
      m.filename = file;
      process.dlopen(m, file);
      m.loaded = true;
      cache[file] = m;
      native = m.exports as Koffi;
    }
    return native.version === version ? native : undefined;
  } catch {
    return undefined; // musl (a glibc module does not load), or a layout this does not know
  }
}

/** `node_modules/<name>` in `from` or the nearest directory above it that has one. */
function findPackage(from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

type Syscall3 = (nr: number, a: number, b: number, c: number) => number;
type Syscall5 = (nr: number, a: number, b: number, c: number, d: number, e: number) => number;
type Mmap = (addr: unknown, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
type Munmap = (addr: unknown, len: number) => number;

/**
 * Declare the libc functions and put them in place of the stubs below. The exports are live
 * bindings, so after the first call every caller calls koffi's function directly.
 */
function bindLibc(): void {
  const libc = koffi().load("libc.so.6");
  syscall3 = libc.func("long syscall(long, long, long, long)") as Syscall3;
  syscall5 = libc.func("syscall", "long", ["long", "long", "long", "long", "long", "long"]) as Syscall5;
  mmapRaw = libc.func("void *mmap(void *, size_t, int, int, int, long)") as Mmap;
  munmapRaw = libc.func("int munmap(void *, size_t)") as Munmap;
}

/** `syscall(nr, a, b, c)`: three arguments cover bpf(2), ioctl(2) and most others. */
export let syscall3: Syscall3 = (nr, a, b, c) => {
  bindLibc();
  return syscall3(nr, a, b, c);
};

/** `syscall(nr, a, b, c, d, e)`: for perf_event_open(2) and friends. */
export let syscall5: Syscall5 = (nr, a, b, c, d, e) => {
  bindLibc();
  return syscall5(nr, a, b, c, d, e);
};

let mmapRaw: Mmap = (addr, len, prot, flags, fd, off) => {
  bindLibc();
  return mmapRaw(addr, len, prot, flags, fd, off);
};
let munmapRaw: Munmap = (addr, len) => {
  bindLibc();
  return munmapRaw(addr, len);
};

/** The calling thread's errno after the last koffi call. */
export function errno(): number {
  return koffi().errno();
}

/** x86_64 system call numbers tsbpf uses (facts from the kernel's syscall table). */
export const SYS = {
  read: 0,
  write: 1,
  close: 3,
  rt_sigprocmask: 14,
  ioctl: 16,
  getpid: 39,
  socket: 41,
  sendto: 44,
  recvfrom: 45,
  bind: 49,
  getsockname: 51,
  setsockopt: 54,
  getsockopt: 55,
  fcntl: 72,
  getrlimit: 97,
  gettid: 186,
  sched_setaffinity: 203,
  sched_getaffinity: 204,
  epoll_wait: 232,
  epoll_ctl: 233,
  openat: 257,
  perf_event_open: 298,
  prlimit64: 302,
  setns: 308,
  getcpu: 309,
  bpf: 321,
  epoll_create1: 291,
} as const;

/** Protection and flag bits for mmap(2). */
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;

/** A region mapped with mmap(2): its address, length and a JS view over it. */
export interface Mapping {
  readonly address: number;
  readonly length: number;
  readonly buffer: ArrayBuffer;
  readonly pointer: unknown;
}

/** mmap(2) a file descriptor (or anonymous memory with fd -1). Throws SyscallError. */
export function mmap(length: number, prot: number, flags: number, fd: number, offset = 0, addr = 0): Mapping {
  const k = koffi();
  const p = mmapRaw(addr === 0 ? null : k.as(addr as never, "void *"), length, prot, flags, fd, offset);
  const address = Number(k.address(p));
  if (address === -1 || address === 0xffffffffffffffff || address > Number.MAX_SAFE_INTEGER) {
    throw new SyscallError("mmap", "mmap", errno(), { context: `mmap of ${length} bytes (fd ${fd})` });
  }
  return { address, length, buffer: k.view(p, length), pointer: p };
}

/** munmap(2) a mapping. The mapping's buffer must not be used afterwards. */
export function munmap(m: Pick<Mapping, "pointer" | "length">): void {
  if (munmapRaw(m.pointer, m.length) !== 0) {
    throw new SyscallError("munmap", "munmap", errno());
  }
}

const garbageMappings = new FinalizationRegistry<Pick<Mapping, "pointer" | "length">>((m) => {
  // Best effort: at worst the range stays mapped until the process exits.
  munmapRaw(m.pointer, m.length);
});

/**
 * Unmap `m` once its ArrayBuffer is garbage: then no view over it can exist, so unmapping
 * cannot leave a dangling one. `token` cancels it (`cancelUnmapWhenGarbage`) for a caller that
 * unmaps explicitly.
 */
export function unmapWhenGarbage(m: Mapping, token: object = m): void {
  // The held value must not reach the buffer, or the buffer could never be collected.
  garbageMappings.register(m.buffer, { pointer: m.pointer, length: m.length }, token);
}

/** Cancel `unmapWhenGarbage` for the mappings registered with `token`. */
export function cancelUnmapWhenGarbage(token: object): void {
  garbageMappings.unregister(token);
}

/** close(2). Returns errno (0 on success) rather than throwing: closing is best effort. */
export function closeFd(fd: number): number {
  return syscall3(SYS.close, fd, 0, 0) === 0 ? 0 : errno();
}

/** Memory allocated outside the JS heap: a stable address and a view over it. */
export class NativeMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly length: number;
  readonly #pointer: Buffer;
  #address: number | undefined;
  /** Set for a region of another NativeMemory: its address is the parent's plus `#offset`. */
  readonly #parent: NativeMemory | undefined;
  readonly #offset: number;
  constructor(length: number, parent?: NativeMemory, offset = 0) {
    let buf: Buffer;
    if (parent !== undefined) {
      if (!Number.isInteger(offset) || offset < 0 || offset + length > parent.length) throw new RangeError(`NativeMemory: region ${offset}+${length} is outside ${parent.length} bytes`);
      buf = parent.#pointer;
      offset += parent.#offset;
      parent = parent.#parent ?? parent;
    } else if (length > 4096) {
      // Off-heap Node buffers never move, so their address can be written into bpf_attr. Large
      // ones come zeroed from calloc (Buffer.alloc never pools): their pages cost memory only
      // once touched, so a map whose values are huge costs nothing here until a value is read.
      buf = Buffer.alloc(length);
    } else {
      buf = Buffer.allocUnsafeSlow(Math.max(length, 8));
      buf.fill(0);
    }
    this.#pointer = buf;
    this.#parent = parent;
    this.#offset = offset;
    this.length = length;
    this.bytes = new Uint8Array(buf.buffer, buf.byteOffset + offset, length);
    this.view = new DataView(buf.buffer, buf.byteOffset + offset, length);
  }
  /**
   * `lengths` regions of one allocation, each starting 8-byte aligned: for an object that keeps
   * several small native buffers (a map's key, value and attrs), one allocation and one address
   * lookup instead of one per buffer.
   */
  static regions(lengths: readonly number[]): NativeMemory[] {
    const starts: number[] = [];
    let end = 0;
    for (const n of lengths) {
      starts.push(end);
      end += Math.ceil(n / 8) * 8;
    }
    const whole = new NativeMemory(end);
    return lengths.map((n, i) => new NativeMemory(n, whole, starts[i]));
  }
  /** Asked on first use, so that a module-level buffer does not load koffi at import. */
  get address(): number {
    return (this.#address ??= this.#parent !== undefined ? this.#parent.address + this.#offset : Number(koffi().address(this.#pointer)));
  }
}

/**
 * The address of an ArrayBufferView whose memory is off the JS heap (a NativeMemory view, an
 * mmap view, or a Buffer from `allocUnsafeSlow`). Small typed arrays live on the JS heap and can
 * move: copy them into NativeMemory first.
 */
export function addressOf(view: ArrayBufferView): number {
  return Number(koffi().address(view));
}
