/**
 * What the kernel knows about a loaded program (`struct bpf_prog_info` from
 * BPF_OBJ_GET_INFO_BY_FD), decoded into plain data.
 */
import { NativeMemory } from "../sys/libc.js";
import { objGetInfoByFd } from "../sys/obj.js";
import { PROG_INFO } from "../sys/prog-attr.js";
import { fdinfoNumber, readFdinfo, type Fd } from "../sys/fd.js";
import { programTypeName, type ProgramTypeName } from "../spec/program-type.js";

/** A program's info as the kernel reports it. Min kernel 4.13; fields newer than the kernel read 0. */
export interface ProgramInfo {
  /** Program id, unique while the program exists (bpftool `id`). */
  readonly id: number;
  /** Program type by name, or its number when this library does not know it. */
  readonly type: ProgramTypeName | number;
  /** The name given at load (at most 15 bytes). */
  readonly name: string;
  /** The program tag: a hash of its instructions, 16 hex digits as bpftool prints it. */
  readonly tag: string;
  /** Size in bytes of the program after the verifier rewrote it (bpftool `bytes_xlated`). */
  readonly translatedSize: number;
  /** Size in bytes of the JIT-compiled code, 0 when not JIT-compiled (bpftool `bytes_jited`). */
  readonly jitedSize: number;
  /** Bytes charged for the program (fdinfo `memlock`, bpftool `bytes_memlock`); undefined without procfs. */
  readonly memlock: number | undefined;
  /** Ids of the maps the program uses. */
  readonly mapIds: readonly number[];
  /** When the program was loaded, in ns since boot. */
  readonly loadTimeNs: bigint;
  /** uid of the process that loaded it. */
  readonly createdByUid: number;
  /** Whether the license is GPL-compatible. */
  readonly gplCompatible: boolean;
  /** Id of the program's BTF, 0 when it has none. */
  readonly btfId: number;
  /** Total run time in ns, counted only while stats are on (see `Program.enableStats`). Linux 5.1. */
  readonly runTimeNs: bigint;
  /** Number of runs, counted only while stats are on. Linux 5.1. */
  readonly runCount: bigint;
  /** Runs skipped because the program was already running on that CPU. Linux 5.12. */
  readonly recursionMisses: bigint;
  /** Instructions the verifier processed. Linux 5.16. */
  readonly verifiedInstructions: number;
  /** Netdev the program is offloaded to / bound to, 0 for none. */
  readonly ifindex: number;
  /** Id of the BTF object that holds `attachBtfId` (vmlinux or a module). Linux 6.0. */
  readonly attachBtfObjId: number;
  /** BTF type id of the attach target. Linux 6.0. */
  readonly attachBtfId: number;
  /** Number of func info and line info records the program was loaded with. */
  readonly funcInfoCount: number;
  readonly lineInfoCount: number;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString("utf8");
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/**
 * Read the info of the program behind `fd`. Two calls: the first learns how many map ids
 * there are, the second fetches them. Throws BpfError, ClosedError.
 */
export function readProgramInfo(fd: Fd | number, what = "program"): ProgramInfo {
  const mem = new NativeMemory(PROG_INFO.size);
  objGetInfoByFd(fd, mem, what);
  let v = mem.view;
  const nrMapIds = v.getUint32(PROG_INFO.nr_map_ids, true);
  const mapIds: number[] = [];
  if (nrMapIds > 0) {
    // Ask again with room for the ids; the count can only be what it was (maps are fixed at load).
    const ids = new NativeMemory(nrMapIds * 4);
    mem.bytes.fill(0);
    mem.view.setUint32(PROG_INFO.nr_map_ids, nrMapIds, true);
    mem.view.setBigUint64(PROG_INFO.map_ids, BigInt(ids.address), true);
    objGetInfoByFd(fd, mem, what);
    v = mem.view;
    const n = Math.min(nrMapIds, v.getUint32(PROG_INFO.nr_map_ids, true));
    for (let i = 0; i < n; i++) mapIds.push(ids.view.getUint32(i * 4, true));
  }
  const typeNumber = v.getUint32(PROG_INFO.type, true);
  return {
    id: v.getUint32(PROG_INFO.id, true),
    type: programTypeName(typeNumber) ?? typeNumber,
    name: cString(mem.bytes.subarray(PROG_INFO.name, PROG_INFO.name + 16)),
    tag: hex(mem.bytes.subarray(PROG_INFO.tag, PROG_INFO.tag + 8)),
    translatedSize: v.getUint32(PROG_INFO.xlated_prog_len, true),
    jitedSize: v.getUint32(PROG_INFO.jited_prog_len, true),
    memlock: fdinfoNumber(readFdinfo(fd), "memlock"),
    mapIds,
    loadTimeNs: v.getBigUint64(PROG_INFO.load_time, true),
    createdByUid: v.getUint32(PROG_INFO.created_by_uid, true),
    gplCompatible: (v.getUint32(PROG_INFO.gpl_compatible, true) & 1) === 1,
    btfId: v.getUint32(PROG_INFO.btf_id, true),
    runTimeNs: v.getBigUint64(PROG_INFO.run_time_ns, true),
    runCount: v.getBigUint64(PROG_INFO.run_cnt, true),
    recursionMisses: v.getBigUint64(PROG_INFO.recursion_misses, true),
    verifiedInstructions: v.getUint32(PROG_INFO.verified_insns, true),
    ifindex: v.getUint32(PROG_INFO.ifindex, true),
    attachBtfObjId: v.getUint32(PROG_INFO.attach_btf_obj_id, true),
    attachBtfId: v.getUint32(PROG_INFO.attach_btf_id, true),
    funcInfoCount: v.getUint32(PROG_INFO.nr_func_info, true),
    lineInfoCount: v.getUint32(PROG_INFO.nr_line_info, true),
  };
}

/**
 * The program's instructions as the kernel keeps them after verification and rewriting
 * (bpftool's `prog dump xlated`): 8 bytes per slot, map references as map ids. Two calls: the
 * first learns the size. Empty when the kernel hides them (no CAP_SYS_ADMIN, or kernel pointers
 * restricted). Throws BpfError, ClosedError.
 */
export function readTranslatedBytes(fd: Fd | number, what = "program"): Uint8Array {
  const mem = new NativeMemory(PROG_INFO.size);
  objGetInfoByFd(fd, mem, what);
  const len = mem.view.getUint32(PROG_INFO.xlated_prog_len, true);
  if (len === 0) return new Uint8Array(0);
  const insns = new NativeMemory(len);
  mem.bytes.fill(0);
  mem.view.setUint32(PROG_INFO.xlated_prog_len, len, true);
  mem.view.setBigUint64(PROG_INFO.xlated_prog_insns, BigInt(insns.address), true);
  objGetInfoByFd(fd, mem, what);
  // The kernel zeroes the pointer when it will not show the instructions.
  if (mem.view.getBigUint64(PROG_INFO.xlated_prog_insns, true) === 0n) return new Uint8Array(0);
  const n = Math.min(len, mem.view.getUint32(PROG_INFO.xlated_prog_len, true));
  return insns.bytes.slice(0, n);
}
