/**
 * Generic bpf(2) object commands shared by every kind of object (maps, programs, links, BTF):
 * pin to and open from bpffs, walk ids, open by id, and read info.
 *
 * Attr layouts (Linux 6.18 UAPI `union bpf_attr`):
 * - BPF_OBJ_PIN / BPF_OBJ_GET: `{ u64 pathname; u32 bpf_fd; u32 file_flags; s32 path_fd; }`
 * - BPF_*_GET_NEXT_ID / BPF_*_GET_FD_BY_ID: `{ u32 start_id|id; u32 next_id; u32 open_flags; u32 fd_by_id_token_fd; }`
 * - BPF_OBJ_GET_INFO_BY_FD: `{ u32 bpf_fd; u32 info_len; u64 info; }`
 */
import { unlinkSync } from "node:fs";
import { Errno, BpfError, permissionHint, TsbpfError } from "../errors.js";
import { BpfCmd, bpfCall, bpfCmdName } from "./bpf.js";
import { Fd } from "./fd.js";
import { errno, NativeMemory, SYS, syscall3 } from "./libc.js";

const { ENOENT } = Errno;

/** `file_flags`/`open_flags`: open the object read-only (BPF_F_RDONLY). */
export const BPF_F_RDONLY = 1 << 3;
/** `file_flags`/`open_flags`: open the object write-only (BPF_F_WRONLY). */
export const BPF_F_WRONLY = 1 << 4;

/** The kinds of kernel object that have ids. */
export type ObjectKind = "prog" | "map" | "btf" | "link";

const NEXT_ID_CMD: Readonly<Record<ObjectKind, number>> = {
  prog: BpfCmd.BPF_PROG_GET_NEXT_ID,
  map: BpfCmd.BPF_MAP_GET_NEXT_ID,
  btf: BpfCmd.BPF_BTF_GET_NEXT_ID,
  link: BpfCmd.BPF_LINK_GET_NEXT_ID,
};

const FD_BY_ID_CMD: Readonly<Record<ObjectKind, number>> = {
  prog: BpfCmd.BPF_PROG_GET_FD_BY_ID,
  map: BpfCmd.BPF_MAP_GET_FD_BY_ID,
  btf: BpfCmd.BPF_BTF_GET_FD_BY_ID,
  link: BpfCmd.BPF_LINK_GET_FD_BY_ID,
};

const OBJ_ATTR_SIZE = 24; // pathname, bpf_fd, file_flags, path_fd (+ padding)
const ID_ATTR_SIZE = 16;
const INFO_ATTR_SIZE = 16;

// One attr buffer serves every command here: calls are synchronous and JS is single-threaded.
const attr = new NativeMemory(32);

function clearAttr(): void {
  attr.bytes.fill(0);
}

function checkKind(kind: ObjectKind): void {
  if (!Object.prototype.hasOwnProperty.call(NEXT_ID_CMD, kind)) {
    throw new TypeError(`unknown object kind ${JSON.stringify(kind)}: expected "prog", "map", "btf" or "link"`);
  }
}

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`${what} ${id} is not a u32`);
}

function fdNumber(fd: Fd | number): number {
  if (typeof fd === "number") {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`invalid file descriptor ${fd}`);
    return fd;
  }
  return fd.value; // throws ClosedError
}

/** A NUL-terminated copy of `path` in native memory. Rejects what the kernel cannot take. */
function pathMemory(path: string): NativeMemory {
  if (typeof path !== "string" || path.length === 0) throw new TypeError("a bpffs path must be a non-empty string");
  if (path.includes("\0")) throw new TypeError(`bpffs path ${JSON.stringify(path)} contains a NUL byte`);
  const bytes = Buffer.from(path, "utf8");
  if (bytes.length >= 4096) throw new RangeError(`bpffs path is ${bytes.length} bytes; PATH_MAX is 4096`);
  const mem = new NativeMemory(bytes.length + 1);
  mem.bytes.set(bytes);
  return mem;
}

function pathHint(code: number, path: string, pinning: boolean): string | undefined {
  const base = path.slice(path.lastIndexOf("/") + 1);
  if (code === 1 && base.includes(".")) return "bpffs refuses names that contain a dot";
  if (code === 1 && pinning) return `the path must be on a bpffs mount (e.g. /sys/fs/bpf); ${permissionHint("root or CAP_BPF")}`;
  if (code === ENOENT) return pinning ? "the parent directory does not exist" : "nothing is pinned at this path";
  if (code === 17) return "something is already pinned at this path: unlink it first";
  if (code === 22 && !pinning) return "the path is not on a bpffs mount, or what is pinned there is not a BPF object";
  return undefined;
}

/**
 * Pin the object behind `fd` at `path` on a bpffs mount (BPF_OBJ_PIN). The pin keeps the object
 * alive after every fd is closed; remove it with `fs.unlinkSync(path)`.
 * Min kernel 4.4. Throws BpfError (EEXIST when the path exists, EPERM off bpffs or for names
 * with a dot, ENOENT when the parent directory is missing), ClosedError for a closed Fd.
 */
export function objPin(fd: Fd | number, path: string, what = "object"): void {
  const n = fdNumber(fd);
  const mem = pathMemory(path);
  clearAttr();
  attr.view.setBigUint64(0, BigInt(mem.address), true);
  attr.view.setUint32(8, n, true);
  const r = syscall3(SYS.bpf, BpfCmd.BPF_OBJ_PIN, attr.address, OBJ_ATTR_SIZE);
  if (r < 0) {
    const e = errno();
    throw new BpfError("BPF_OBJ_PIN", e, { context: `${what}: pin at ${path}`, hint: pathHint(e, path, true) });
  }
}

/**
 * Open the object pinned at `path` (BPF_OBJ_GET). `flags` is 0, BPF_F_RDONLY or BPF_F_WRONLY.
 * Returns a new Fd that the caller owns and closes. Min kernel 4.4 (flags 4.15).
 * Throws BpfError (ENOENT when nothing is pinned there).
 */
export function objGet(path: string, flags = 0, what = "pinned object"): Fd {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) throw new RangeError(`flags ${flags} is not a u32`);
  const mem = pathMemory(path);
  clearAttr();
  attr.view.setBigUint64(0, BigInt(mem.address), true);
  attr.view.setUint32(12, flags, true);
  const r = syscall3(SYS.bpf, BpfCmd.BPF_OBJ_GET, attr.address, OBJ_ATTR_SIZE);
  if (r < 0) {
    const e = errno();
    throw new BpfError("BPF_OBJ_GET", e, { context: `${what}: open ${path}`, hint: pathHint(e, path, false) });
  }
  return new Fd(r, `${what} ${path}`);
}

/**
 * The id of the next object of `kind` after `start` (BPF_*_GET_NEXT_ID), or undefined when
 * there is none. Start with 0 to get the first. Min kernel 4.13 (btf 5.4, link 5.8).
 * Throws BpfError for anything but the end of the list.
 */
export function getNextId(kind: ObjectKind, start: number): number | undefined {
  checkKind(kind);
  checkId(start, "start id");
  // The kernel allocates ids below INT_MAX and answers EINVAL for a start at or above it.
  if (start >= 0x7fffffff) return undefined;
  clearAttr();
  attr.view.setUint32(0, start, true);
  const cmd = NEXT_ID_CMD[kind];
  const r = syscall3(SYS.bpf, cmd, attr.address, ID_ATTR_SIZE);
  if (r < 0) {
    const e = errno();
    if (e === ENOENT) return undefined;
    throw new BpfError(bpfCmdName(cmd), e, { context: `${kind} ids: next after ${start}` });
  }
  return attr.view.getUint32(4, true);
}

/** Every id of `kind` that exists now, in increasing order. */
export function listIds(kind: ObjectKind): number[] {
  const ids: number[] = [];
  let id = 0;
  for (;;) {
    const next = getNextId(kind, id);
    if (next === undefined) return ids;
    ids.push(next);
    id = next;
  }
}

/**
 * Read something (usually the info) of every object of `kind`: walks the ids, opens each,
 * calls `read` with the fd, closes it. Objects that vanish between the walk and the open
 * (ENOENT) are skipped; any other error is thrown. Min kernel 4.13.
 */
export function readEach<T>(kind: ObjectKind, read: (fd: Fd, id: number) => T): T[] {
  const out: T[] = [];
  for (const id of listIds(kind)) {
    let fd: Fd;
    try {
      fd = getFdById(kind, id);
    } catch (e) {
      if (e instanceof BpfError && e.code === "ENOENT") continue;
      throw e;
    }
    try {
      out.push(read(fd, id));
    } finally {
      fd.close();
    }
  }
  return out;
}

/**
 * Open the object of `kind` with this id (BPF_*_GET_FD_BY_ID). `openFlags` is 0,
 * BPF_F_RDONLY or BPF_F_WRONLY (maps only). Returns a new Fd that the caller owns and closes.
 * Min kernel 4.13. Throws BpfError (ENOENT when no such id exists).
 */
export function getFdById(kind: ObjectKind, id: number, openFlags = 0): Fd {
  checkKind(kind);
  checkId(id, `${kind} id`);
  checkId(openFlags, "open flags");
  clearAttr();
  attr.view.setUint32(0, id, true);
  attr.view.setUint32(8, openFlags, true);
  const cmd = FD_BY_ID_CMD[kind];
  const r = syscall3(SYS.bpf, cmd, attr.address, ID_ATTR_SIZE);
  if (r < 0) {
    const e = errno();
    throw new BpfError(bpfCmdName(cmd), e, {
      context: `${kind} id ${id}: open`,
      hint: e === ENOENT ? `no ${kind} with id ${id} exists (any more)` : undefined,
    });
  }
  return new Fd(r, `${kind} id ${id}`);
}

/**
 * Fill `info` with the kernel's info struct for the object behind `fd`
 * (BPF_OBJ_GET_INFO_BY_FD): `bpf_map_info`, `bpf_prog_info`, `bpf_link_info` or `bpf_btf_info`.
 * Pointer fields inside `info` (e.g. map_ids) must already point at native memory. Returns the
 * number of bytes the kernel filled. Min kernel 4.13. Throws BpfError, ClosedError.
 */
export function objGetInfoByFd(fd: Fd | number, info: NativeMemory, what = "object"): number {
  const n = fdNumber(fd);
  clearAttr();
  attr.view.setUint32(0, n, true);
  attr.view.setUint32(4, info.length, true);
  attr.view.setBigUint64(8, BigInt(info.address), true);
  bpfCall(BpfCmd.BPF_OBJ_GET_INFO_BY_FD, attr, INFO_ATTR_SIZE, `${what}: info`);
  return attr.view.getUint32(4, true);
}

/**
 * Remove the pin at `path` when it still refers to the object with id `id` (maps, programs and
 * links keep their id at offset 4 of their info). Returns false when nothing is pinned there any
 * more (someone removed it: the pin is gone either way). Throws TsbpfError when another object is
 * pinned at `path` now (it is left alone), BpfError/TsbpfError when it cannot be checked or removed.
 */
export function unpinIfSame(path: string, id: number, what: string): boolean {
  let fd: Fd;
  try {
    fd = objGet(path, 0, what);
  } catch (e) {
    if ((e as { errno?: number }).errno === ENOENT) return false;
    throw e;
  }
  let pinnedId: number | undefined;
  try {
    const info = new NativeMemory(8);
    objGetInfoByFd(fd, info, what);
    pinnedId = info.view.getUint32(4, true);
  } catch {
    pinnedId = undefined; // not a map, program or link: not ours
  } finally {
    fd.close();
  }
  if (pinnedId !== id) {
    throw new TsbpfError(
      `${what}: unpin ${path}: the pin now refers to another object (id ${pinnedId ?? "unknown"}, not ${id}); it was left in place (unlink it yourself if it is yours to remove)`,
    );
  }
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return false;
    throw new TsbpfError(`${what}: unpin ${path}: ${(e as Error).message}`, { cause: e });
  }
  return true;
}
