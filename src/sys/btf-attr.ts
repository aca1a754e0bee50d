/**
 * BTF in the kernel, as bytes: `BPF_BTF_LOAD` (with the kernel's BTF log on failure), reading
 * `bpf_btf_info` and the kernel's copy of a BTF object, and mapping a `/sys/kernel/btf/*` file.
 * No BTF parsing here: the live `Btf` handle (src/map/btf.ts) and the BTF feature probes
 * (src/features/btf.ts) build on these.
 *
 * Attr layouts (Linux 6.18 UAPI):
 * - BPF_BTF_LOAD: `{ u64 btf; u64 btf_log_buf; u32 btf_size; u32 btf_log_size; u32 btf_log_level;
 *   u32 btf_log_true_size; u32 btf_flags; s32 btf_token_fd; }` (40 bytes)
 * - `struct bpf_btf_info { u64 btf; u32 btf_size; u32 id; u64 name; u32 name_len; u32 kernel_btf; }` (32 bytes)
 */
import { Errno, BpfError, checkOptions } from "../errors.js";
import { BpfCmd, bpfCallRaw } from "./bpf.js";
import { Fd } from "./fd.js";
import { closeSync, fstatSync, openSync } from "node:fs";
import { MAP_PRIVATE, mmap, NativeMemory, PROT_READ, unmapWhenGarbage } from "./libc.js";
import { getFdById, objGetInfoByFd } from "./obj.js";

const { ENOSPC } = Errno;

const BTF_LOAD_ATTR_SIZE = 40;
const BTF_INFO_SIZE = 32;
/** The kernel refuses BTF log buffers below 128 bytes and above UINT_MAX >> 2. */
const LOG_MIN = 128;
const LOG_MAX = 0x3fffffff;
/** How many lines of the kernel's BTF log an error message shows. */
const LOG_TAIL = 4;

/** Options of Btf.load. */
export interface BtfLoadOptions {
  /**
   * Kernel log level for the first attempt (default 0: no log, and on failure the load is
   * retried with level 1 to explain it). 1 logs errors, 2 logs everything.
   */
  logLevel?: 0 | 1 | 2;
  /** Initial log buffer size in bytes (default 64 KiB); grown while the kernel says ENOSPC. */
  logSize?: number;
  /** What this BTF is, for error messages (default "BTF"). */
  name?: string;
}

const LOAD_OPTIONS = new Set(["logLevel", "logSize", "name"]);

/** What BPF_OBJ_GET_INFO_BY_FD says about a loaded BTF object. */
export interface BtfInfo {
  /** The kernel's id of this BTF object. */
  id: number;
  /** Size in bytes of the BTF blob. */
  size: number;
  /** Name (module name for kernel BTF, "vmlinux", or "" for user BTF). */
  name: string;
  /** Whether this is the kernel's own (vmlinux or module) BTF. */
  kernelBtf: boolean;
}

function lastLines(log: string): string {
  const lines = log.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.slice(-LOG_TAIL).join(" / ");
}

/**
 * Load a `.BTF` blob into the kernel (BPF_BTF_LOAD) and return the owned Fd. Min kernel 4.18.
 * Throws BpfError; when the kernel refuses the BTF, the message ends with the last lines of
 * the kernel's BTF log (e.g. `[3] PTR (anon) type_id=99 Invalid type_id`) and `log` holds it all.
 */
export function btfLoad(blob: Uint8Array, options?: BtfLoadOptions): { fd: Fd; log: string } {
  if (options) {
    checkOptions("Btf.load", options, LOAD_OPTIONS);
  }
  const what = options?.name ?? "BTF";
  const level = options?.logLevel ?? 0;
  if (level !== 0 && level !== 1 && level !== 2) throw new RangeError(`Btf.load: logLevel must be 0, 1 or 2, not ${level}`);
  let logSize = options?.logSize ?? 1 << 16;
  if (!Number.isInteger(logSize) || logSize < LOG_MIN || logSize > LOG_MAX) {
    throw new RangeError(`Btf.load: logSize must be an integer in [${LOG_MIN}, ${LOG_MAX}], not ${logSize}`);
  }
  if (!(blob instanceof Uint8Array) || blob.length === 0) throw new TypeError("Btf.load: expected a non-empty Uint8Array");
  const data = new NativeMemory(blob.length);
  data.bytes.set(blob);
  const attr = new NativeMemory(BTF_LOAD_ATTR_SIZE);
  let tryLevel = level;
  for (;;) {
    const log = tryLevel > 0 ? new NativeMemory(logSize) : undefined;
    attr.bytes.fill(0);
    const v = attr.view;
    v.setBigUint64(0, BigInt(data.address), true);
    v.setBigUint64(8, BigInt(log ? log.address : 0), true);
    v.setUint32(16, blob.length, true);
    v.setUint32(20, log ? logSize : 0, true);
    v.setUint32(24, tryLevel, true);
    const r = bpfCallRaw(BpfCmd.BPF_BTF_LOAD, attr.address, BTF_LOAD_ATTR_SIZE);
    const text = log ? Buffer.from(log.bytes.subarray(0, Math.max(0, log.bytes.indexOf(0)))).toString("utf8") : "";
    if (r >= 0) return { fd: new Fd(r, what), log: text };
    const errno = -r;
    if (errno === ENOSPC && log && logSize < LOG_MAX) {
      // the log did not fit: the kernel says how much it needed (6.4+), else double
      const need = v.getUint32(28, true);
      logSize = Math.min(LOG_MAX, Math.max(need + 1, logSize * 2));
      continue;
    }
    if (tryLevel === 0) {
      tryLevel = 1; // ask the kernel why
      continue;
    }
    const tail = lastLines(text);
    const err = new BpfError("BPF_BTF_LOAD", errno, {
      context: `${what}: load`,
      hint: tail ? `the kernel's BTF check says: ${tail}` : undefined,
    });
    (err as BpfError & { log?: string }).log = text;
    throw err;
  }
}

/**
 * Load a `.BTF` blob without asking for a log, for probes: the owned Fd, or the errno when the
 * kernel refuses it (no retry, no exception).
 */
export function btfLoadQuiet(blob: Uint8Array): Fd | number {
  const attr = new NativeMemory(BTF_LOAD_ATTR_SIZE);
  const data = new NativeMemory(blob.length);
  data.bytes.set(blob);
  attr.view.setBigUint64(0, BigInt(data.address), true);
  attr.view.setUint32(16, blob.length, true);
  const r = bpfCallRaw(BpfCmd.BPF_BTF_LOAD, attr.address, BTF_LOAD_ATTR_SIZE);
  return r >= 0 ? new Fd(r, "BTF probe") : -r;
}

/** The kernel's info on a loaded BTF object (BPF_OBJ_GET_INFO_BY_FD). Throws BpfError, ClosedError. */
export function btfInfo(fd: Fd): BtfInfo {
  const name = new NativeMemory(64);
  const info = new NativeMemory(BTF_INFO_SIZE);
  info.view.setBigUint64(16, BigInt(name.address), true);
  info.view.setUint32(24, 64, true);
  objGetInfoByFd(fd, info, fd.what);
  const v = info.view;
  const len = name.bytes.indexOf(0);
  return {
    id: v.getUint32(12, true),
    size: v.getUint32(8, true),
    name: Buffer.from(name.bytes.subarray(0, len < 0 ? 64 : len)).toString("utf8"),
    kernelBtf: v.getUint32(28, true) !== 0,
  };
}

/** The blob of a loaded BTF object as the kernel holds it. Throws BpfError, ClosedError. */
export function btfBytes(fd: Fd): Uint8Array {
  const size = btfInfo(fd).size;
  const data = new NativeMemory(size);
  const info = new NativeMemory(BTF_INFO_SIZE);
  info.view.setBigUint64(0, BigInt(data.address), true);
  info.view.setUint32(8, size, true);
  objGetInfoByFd(fd, info, fd.what);
  return Uint8Array.from(data.bytes);
}

/**
 * Map a kernel BTF file read-only (Linux 6.16+ allows mmap of /sys/kernel/btf/*), or return
 * undefined so the caller reads it instead. The mapping lives as long as its bytes are
 * referenced (a FinalizationRegistry unmaps it), so specs handed out never see it vanish.
 */
export function mapKernelBtfFile(path: string): Uint8Array | undefined {
  if (!path.startsWith("/sys/kernel/btf/")) return undefined;
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= 0) return undefined;
    const m = mmap(size, PROT_READ, MAP_PRIVATE, fd, 0);
    const bytes = new Uint8Array(m.buffer, 0, size);
    // the held value must not reference the buffer, or the buffer could never be collected
    unmapWhenGarbage(m);
    return bytes;
  } catch {
    return undefined; // older kernels: EINVAL/ENODEV from mmap on sysfs
  } finally {
    closeSync(fd);
  }
}
