/**
 * BPF iterators (Linux 5.8): attach an iter program (tracing type, expected attach type
 * trace_iter, target such as `bpf_iter_task` fixed at load) as a link, optionally scoped to a
 * map, a task or a cgroup, then read its output: each read runs the program over the objects.
 */
import { Errno, SyscallError } from "../errors.js";
import { ATTACH_TYPES } from "../spec/program-type.js";
import type { Fd } from "../sys/fd.js";
import { errno, NativeMemory, SYS, syscall3 } from "../sys/libc.js";
import { iterCreate, linkCreate } from "../sys/link-attr.js";
import { expectProgramType, BpfLink, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";

const { EINTR } = Errno;

/** Cgroup walk orders (`enum bpf_cgroup_iter_order`). */
export const CGROUP_ITER_ORDER = { self_only: 1, descendants_pre: 2, descendants_post: 3, ancestors_up: 4 } as const;

/** Options of `attachIter`: at most one scope. */
export interface IterOptions {
  /** Iterate the elements of this map (bpf_iter__bpf_map_elem, sockmap, …). */
  map?: { readonly fd: number } | number;
  /** Only this thread (`tid`), process (`pid`) or pidfd (`pidFd`) (task iterators, Linux 6.1). */
  task?: { tid?: number; pid?: number; pidFd?: number };
  /** Walk cgroups from this one (cgroup iterators, Linux 6.1). */
  cgroup?: { fd?: number; id?: bigint; order?: keyof typeof CGROUP_ITER_ORDER };
}

/** An iterator link: a Link that can also produce the iterator's output. */
export interface IterLink extends Link {
  /** Run the iterator once and return everything it wrote (BPF_ITER_CREATE + read to the end). */
  read(): Uint8Array;
  /** Like read(), decoded as UTF-8. */
  readText(): string;
  /** A new readable fd of one iteration (the caller closes it) for streaming reads. */
  openStream(): Fd;
}

/** Encode `union bpf_iter_link_info` (16 bytes), or undefined when no scope is given. Pure. */
export function encodeIterInfo(o: IterOptions): NativeMemory | undefined {
  const scopes = [o.map, o.task, o.cgroup].filter((x) => x !== undefined).length;
  if (scopes > 1) throw new TypeError("attachIter: give at most one of map, task, cgroup");
  if (scopes === 0) return undefined;
  const m = new NativeMemory(16);
  const v = m.view;
  if (o.map !== undefined) {
    const fd = typeof o.map === "number" ? o.map : o.map.fd;
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError("attachIter: map must be a map or its fd");
    v.setUint32(0, fd, true);
  } else if (o.task) {
    checkOptions("attachIter task", o.task, ["tid", "pid", "pidFd"]);
    const given = [o.task.tid, o.task.pid, o.task.pidFd].filter((x) => x !== undefined);
    if (given.length !== 1) throw new TypeError("attachIter: task needs exactly one of tid, pid, pidFd");
    v.setUint32(0, o.task.tid ?? 0, true);
    v.setUint32(4, o.task.pid ?? 0, true);
    v.setUint32(8, o.task.pidFd ?? 0, true);
  } else if (o.cgroup) {
    checkOptions("attachIter cgroup", o.cgroup, ["fd", "id", "order"]);
    const order = o.cgroup.order ?? "self_only";
    if (!Object.hasOwn(CGROUP_ITER_ORDER, order)) throw new TypeError(`attachIter: cgroup order must be one of ${Object.keys(CGROUP_ITER_ORDER).join(", ")}`);
    if ((o.cgroup.fd === undefined) === (o.cgroup.id === undefined)) throw new TypeError("attachIter: cgroup needs fd or id");
    v.setUint32(0, CGROUP_ITER_ORDER[order], true);
    v.setUint32(4, o.cgroup.fd ?? 0, true);
    v.setBigUint64(8, o.cgroup.id ?? 0n, true);
  }
  return m;
}

const CHUNK = 64 * 1024;

/** Read an fd to its end. Throws SyscallError. */
function readAll(fd: Fd, what: string): Uint8Array {
  const buf = new NativeMemory(CHUNK);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const n = syscall3(SYS.read, fd.value, buf.address, CHUNK);
    if (n < 0) {
      const e = errno();
      if (e === EINTR) continue;
      throw new SyscallError("read", "read", e, { context: `${what}: read`, hint: e === 7 ? "one object's output was larger than a page (E2BIG)" : undefined });
    }
    if (n === 0) break;
    parts.push(buf.bytes.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

class IterBpfLink extends BpfLink implements IterLink {
  openStream(): Fd {
    this.checkOpen();
    return iterCreate(this.fd.value, `${this.describe()}: create iterator`);
  }
  read(): Uint8Array {
    using stream = this.openStream();
    return readAll(stream, this.describe());
  }
  readText(): string {
    return new TextDecoder().decode(this.read());
  }
}

/**
 * Attach an iterator program. Returns an IterLink: read() runs it. Min kernel 5.8 (map scope
 * 5.9, task/cgroup scope 6.1). Throws TypeError for bad options, BpfError.
 */
export function attachIter(program: AttachProgram<"tracing">, options: IterOptions = {}): IterLink {
  checkOptions("attachIter", options, ["map", "task", "cgroup"]);
  expectProgramType(program, "iter", "attachIter");
  const progFd = programFd(program, "attachIter: program");
  const info = encodeIterInfo(options);
  const label = `iter ${programLabel(program)}`;
  const fd = linkCreate(
    { progFd, target: 0, attachType: ATTACH_TYPES.trace_iter, flags: 0, extra: { kind: "iter", iterInfo: info, iterInfoLen: info ? 16 : 0 } },
    `${label}: attach`,
  );
  return new IterBpfLink(fd, "iter", label);
}
