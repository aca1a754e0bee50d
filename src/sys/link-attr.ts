/**
 * The bpf(2) commands that attach programs, with their `union bpf_attr` layouts (Linux 6.18):
 * BPF_LINK_CREATE (every target variant), BPF_LINK_UPDATE, BPF_LINK_DETACH,
 * BPF_RAW_TRACEPOINT_OPEN, BPF_ITER_CREATE, BPF_PROG_ATTACH / BPF_PROG_DETACH /
 * BPF_PROG_QUERY (with the 6.6+ relative-ordering fields), and `struct bpf_link_info`.
 *
 * Each `encode*` function is pure (writes a DataView), so layouts are tested without a kernel;
 * each command function encodes, calls, and throws BpfError with the caller's context.
 */
import { BpfError } from "../errors.js";
import { BpfCmd, bpfCall } from "./bpf.js";
import { Fd } from "./fd.js";
import { NativeMemory } from "./libc.js";
import { objGetInfoByFd } from "./obj.js";

/** Flags of BPF_PROG_ATTACH, BPF_LINK_CREATE (mprog targets) and BPF_LINK_UPDATE. */
export const BPF_F = {
  ALLOW_OVERRIDE: 1 << 0,
  ALLOW_MULTI: 1 << 1,
  REPLACE: 1 << 2,
  BEFORE: 1 << 3,
  AFTER: 1 << 4,
  ID: 1 << 5,
  LINK: 1 << 13,
  /** BPF_PROG_QUERY: the effective programs (cgroup inheritance applied). */
  QUERY_EFFECTIVE: 1 << 0,
  /** kprobe_multi / uprobe_multi: return probes. */
  MULTI_RETURN: 1 << 0,
} as const;

/** `enum bpf_link_type` of Linux 6.18, by bpftool's name. */
export const LINK_TYPES = {
  unspec: 0,
  raw_tracepoint: 1,
  tracing: 2,
  cgroup: 3,
  iter: 4,
  netns: 5,
  xdp: 6,
  perf_event: 7,
  kprobe_multi: 8,
  struct_ops: 9,
  netfilter: 10,
  tcx: 11,
  uprobe_multi: 12,
  netkit: 13,
  sockmap: 14,
} as const;
/** A link type by bpftool's name (`"xdp"`, `"tcx"`, `"perf_event"` …). */
export type LinkTypeName = keyof typeof LINK_TYPES;

const LINK_TYPE_NAMES = new Map<number, LinkTypeName>(Object.entries(LINK_TYPES).map(([k, v]) => [v, k as LinkTypeName]));
/** The name of a link type number, or undefined for one this table does not know. */
export function linkTypeName(n: number): LinkTypeName | undefined {
  return LINK_TYPE_NAMES.get(n);
}

/** Size tsbpf passes for BPF_LINK_CREATE (the 6.18 `link_create` member is 64 bytes). */
export const LINK_CREATE_SIZE = 64;

/** Where the program goes: one of the target variants of `link_create`. */
export type LinkCreateTarget =
  | { kind: "none" }
  | { kind: "target_btf_id"; targetBtfId: number }
  | { kind: "iter"; iterInfo: NativeMemory | undefined; iterInfoLen: number }
  | { kind: "perf_event"; cookie: bigint }
  | { kind: "kprobe_multi"; flags: number; count: number; syms: number; addrs: number; cookies: number }
  | { kind: "tracing"; targetBtfId: number; cookie: bigint }
  | { kind: "netfilter"; pf: number; hooknum: number; priority: number; flags: number }
  | { kind: "mprog"; relative: number; expectedRevision: bigint }
  | { kind: "uprobe_multi"; path: number; offsets: number; refCtrOffsets: number; cookies: number; count: number; flags: number; pid: number };

/** The fields of `link_create`. `progFd` is the map fd for struct_ops. */
export interface LinkCreateAttr {
  progFd: number;
  /** target_fd or target_ifindex (0 when the kind has none). */
  target: number;
  attachType: number;
  flags: number;
  extra: LinkCreateTarget;
}

/** Write `link_create` into `v` (LINK_CREATE_SIZE bytes, zeroed first). Pure. */
export function encodeLinkCreate(a: LinkCreateAttr, v: DataView): void {
  for (let i = 0; i < LINK_CREATE_SIZE; i++) v.setUint8(i, 0);
  v.setUint32(0, a.progFd >>> 0, true);
  v.setUint32(4, a.target >>> 0, true);
  v.setUint32(8, a.attachType >>> 0, true);
  v.setUint32(12, a.flags >>> 0, true);
  const x = a.extra;
  switch (x.kind) {
    case "none":
      break;
    case "target_btf_id":
      v.setUint32(16, x.targetBtfId >>> 0, true);
      break;
    case "iter":
      v.setBigUint64(16, BigInt(x.iterInfo?.address ?? 0), true);
      v.setUint32(24, x.iterInfoLen, true);
      break;
    case "perf_event":
      v.setBigUint64(16, BigInt.asUintN(64, x.cookie), true);
      break;
    case "kprobe_multi":
      v.setUint32(16, x.flags >>> 0, true);
      v.setUint32(20, x.count >>> 0, true);
      v.setBigUint64(24, BigInt(x.syms), true);
      v.setBigUint64(32, BigInt(x.addrs), true);
      v.setBigUint64(40, BigInt(x.cookies), true);
      break;
    case "tracing":
      v.setUint32(16, x.targetBtfId >>> 0, true);
      v.setBigUint64(24, BigInt.asUintN(64, x.cookie), true);
      break;
    case "netfilter":
      v.setUint32(16, x.pf >>> 0, true);
      v.setUint32(20, x.hooknum >>> 0, true);
      v.setInt32(24, x.priority, true);
      v.setUint32(28, x.flags >>> 0, true);
      break;
    case "mprog":
      // tcx, netkit and (6.16+) cgroup share this shape: relative_fd|relative_id, expected_revision.
      v.setUint32(16, x.relative >>> 0, true);
      v.setBigUint64(24, x.expectedRevision, true);
      break;
    case "uprobe_multi":
      v.setBigUint64(16, BigInt(x.path), true);
      v.setBigUint64(24, BigInt(x.offsets), true);
      v.setBigUint64(32, BigInt(x.refCtrOffsets), true);
      v.setBigUint64(40, BigInt(x.cookies), true);
      v.setUint32(48, x.count >>> 0, true);
      v.setUint32(52, x.flags >>> 0, true);
      v.setUint32(56, x.pid >>> 0, true);
      break;
  }
}

/**
 * BPF_LINK_CREATE. Returns the new link's Fd (the caller owns and closes it). Min kernel 5.7
 * (per target: see each link kind). Throws BpfError with `context` leading the message.
 */
export function linkCreate(a: LinkCreateAttr, context: string, hint?: (errno: number) => string | undefined): Fd {
  const mem = new NativeMemory(LINK_CREATE_SIZE);
  encodeLinkCreate(a, mem.view);
  const fd = callWithHint(BpfCmd.BPF_LINK_CREATE, mem, LINK_CREATE_SIZE, context, hint);
  return new Fd(fd, context);
}

function callWithHint(cmd: number, mem: NativeMemory, size: number, context: string, hint?: (errno: number) => string | undefined): number {
  try {
    return bpfCall(cmd, mem, size, context);
  } catch (e) {
    const h = hint && e instanceof BpfError ? hint(e.errno) : undefined;
    if (h && e instanceof BpfError) throw new BpfError(e.command, e.errno, { context, hint: h });
    throw e;
  }
}

/** BPF_LINK_UPDATE: swap the link's program (or struct_ops map); with `oldFd`, only if the current one is it (BPF_F_REPLACE). */
export function linkUpdate(linkFd: number, newFd: number, oldFd: number | undefined, context: string): void {
  const mem = new NativeMemory(16);
  mem.view.setUint32(0, linkFd, true);
  mem.view.setUint32(4, newFd, true);
  if (oldFd !== undefined) {
    mem.view.setUint32(8, BPF_F.REPLACE, true);
    mem.view.setUint32(12, oldFd, true);
  }
  bpfCall(BpfCmd.BPF_LINK_UPDATE, mem, 16, context);
}

/** BPF_LINK_DETACH: detach the link from its target while the fd stays open (min kernel 5.9). */
export function linkDetach(linkFd: number, context: string): void {
  const mem = new NativeMemory(8);
  mem.view.setUint32(0, linkFd, true);
  bpfCall(BpfCmd.BPF_LINK_DETACH, mem, 8, context);
}

/** BPF_RAW_TRACEPOINT_OPEN: `name` undefined for tp_btf/fentry/fexit/lsm (target comes from the program). Returns the link Fd. */
export function rawTracepointOpen(progFd: number, name: string | undefined, cookie: bigint, context: string, hint?: (errno: number) => string | undefined): Fd {
  const mem = new NativeMemory(24);
  let nameMem: NativeMemory | undefined;
  if (name !== undefined) {
    const enc = new TextEncoder().encode(name);
    nameMem = new NativeMemory(enc.length + 1);
    nameMem.bytes.set(enc);
    mem.view.setBigUint64(0, BigInt(nameMem.address), true);
  }
  mem.view.setUint32(8, progFd, true);
  mem.view.setBigUint64(16, BigInt.asUintN(64, cookie), true);
  const fd = callWithHint(BpfCmd.BPF_RAW_TRACEPOINT_OPEN, mem, cookie === 0n ? 16 : 24, context, hint);
  return new Fd(fd, context);
}

/** BPF_ITER_CREATE: a readable fd that runs the iterator link's program (min kernel 5.8). */
export function iterCreate(linkFd: number, context: string): Fd {
  const mem = new NativeMemory(8);
  mem.view.setUint32(0, linkFd, true);
  return new Fd(bpfCall(BpfCmd.BPF_ITER_CREATE, mem, 8, context), context);
}

/** The fields of `BPF_PROG_ATTACH` / `BPF_PROG_DETACH`. */
export interface ProgAttachAttr {
  target: number;
  progFd: number;
  attachType: number;
  flags: number;
  replaceFd?: number;
  relative?: number;
  expectedRevision?: bigint;
}

/** Size tsbpf passes for BPF_PROG_ATTACH/DETACH (through expected_revision). */
export const PROG_ATTACH_SIZE = 32;

/** Write the BPF_PROG_ATTACH/DETACH attr. Pure. */
export function encodeProgAttach(a: ProgAttachAttr, v: DataView): void {
  for (let i = 0; i < PROG_ATTACH_SIZE; i++) v.setUint8(i, 0);
  v.setUint32(0, a.target >>> 0, true);
  v.setUint32(4, a.progFd >>> 0, true);
  v.setUint32(8, a.attachType >>> 0, true);
  v.setUint32(12, a.flags >>> 0, true);
  v.setUint32(16, (a.replaceFd ?? 0) >>> 0, true);
  v.setUint32(20, (a.relative ?? 0) >>> 0, true);
  v.setBigUint64(24, a.expectedRevision ?? 0n, true);
}

/** BPF_PROG_ATTACH (legacy attach: cgroups, sockmap, flow dissector, lirc, tcx without a link). */
export function progAttach(a: ProgAttachAttr, context: string): void {
  const mem = new NativeMemory(PROG_ATTACH_SIZE);
  encodeProgAttach(a, mem.view);
  bpfCall(BpfCmd.BPF_PROG_ATTACH, mem, PROG_ATTACH_SIZE, context);
}

/** BPF_PROG_DETACH. `progFd` 0 detaches whatever single program is attached (where allowed). */
export function progDetach(a: ProgAttachAttr, context: string): void {
  const mem = new NativeMemory(PROG_ATTACH_SIZE);
  encodeProgAttach(a, mem.view);
  bpfCall(BpfCmd.BPF_PROG_DETACH, mem, PROG_ATTACH_SIZE, context);
}

/** What BPF_PROG_QUERY reports. */
export interface ProgQueryResult {
  /** attach_flags of the target (cgroups: 0, BPF_F_ALLOW_OVERRIDE or BPF_F_ALLOW_MULTI). */
  attachFlags: number;
  progIds: number[];
  /** Per program attach flags (cgroups, when asked for). */
  progAttachFlags: number[];
  /** Link ids, parallel to progIds (0 for a program attached without a link); mprog targets (tcx, netkit, cgroup 6.16+). */
  linkIds: number[];
  /** The target's revision (mprog targets), else 0n. */
  revision: bigint;
}

/** Size tsbpf passes for BPF_PROG_QUERY (through revision). */
export const PROG_QUERY_SIZE = 64;

/**
 * BPF_PROG_QUERY of `target` (cgroup fd, ifindex or netns fd) for `attachType`. Asks twice when
 * more programs are attached than the first buffer holds. Throws BpfError.
 */
export function progQuery(target: number, attachType: number, queryFlags: number, context: string): ProgQueryResult {
  let capacity = 64;
  for (let round = 0; round < 4; round++) {
    const mem = new NativeMemory(PROG_QUERY_SIZE);
    const ids = new NativeMemory(capacity * 4);
    const progFlags = new NativeMemory(capacity * 4);
    const links = new NativeMemory(capacity * 4);
    const v = mem.view;
    v.setUint32(0, target >>> 0, true);
    v.setUint32(4, attachType >>> 0, true);
    v.setUint32(8, queryFlags >>> 0, true);
    v.setBigUint64(16, BigInt(ids.address), true);
    v.setUint32(24, capacity, true);
    // An effective query (cgroup inheritance) refuses per-program flags and link ids: EINVAL.
    if (!(queryFlags & BPF_F.QUERY_EFFECTIVE)) {
      v.setBigUint64(32, BigInt(progFlags.address), true);
      v.setBigUint64(40, BigInt(links.address), true);
    }
    try {
      bpfCall(BpfCmd.BPF_PROG_QUERY, mem, PROG_QUERY_SIZE, context);
    } catch (e) {
      // ENOSPC: more programs than room; the count now holds the real number.
      if (e instanceof BpfError && e.code === "ENOSPC" && round < 3) {
        capacity = Math.max(capacity * 2, v.getUint32(24, true));
        continue;
      }
      throw e;
    }
    const count = Math.min(v.getUint32(24, true), capacity);
    const read = (m: NativeMemory) => Array.from({ length: count }, (_, i) => m.view.getUint32(i * 4, true));
    return {
      attachFlags: v.getUint32(12, true),
      progIds: read(ids),
      progAttachFlags: read(progFlags),
      linkIds: read(links),
      revision: v.getBigUint64(56, true),
    };
  }
  throw new BpfError("BPF_PROG_QUERY", 28, { context, hint: "the number of attached programs kept growing" });
}

// --- struct bpf_link_info ------------------------------------------------------------------

/** Size of `struct bpf_link_info` that tsbpf asks for (6.18: 16-byte head + 64-byte union, rounded). */
export const LINK_INFO_SIZE = 96;

/** `struct bpf_link_info` decoded: the common head plus the fields of the link's own type. */
export interface LinkInfoRaw {
  type: number;
  id: number;
  progId: number;
  /** The type-specific union, decoded by `decodeLinkInfoExtra`. */
  extra: Record<string, number | bigint | string>;
}

function cString(mem: NativeMemory | undefined, len: number): string {
  if (!mem) return "";
  const b = mem.bytes.subarray(0, Math.min(len, mem.length));
  const end = b.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? b.subarray(0, end) : b);
}

/**
 * Read `struct bpf_link_info` of a link (BPF_OBJ_GET_INFO_BY_FD), with the strings some
 * types carry (raw tracepoint name, iterator target, uprobe_multi path, perf event names).
 * Throws BpfError, ClosedError.
 */
export function linkInfo(linkFd: Fd | number, what: string): LinkInfoRaw {
  const mem = new NativeMemory(LINK_INFO_SIZE);
  objGetInfoByFd(linkFd, mem, what);
  const head = { type: mem.view.getUint32(0, true), id: mem.view.getUint32(4, true), progId: mem.view.getUint32(8, true) };
  // Second call with string buffers for the types that return names.
  const str = new NativeMemory(4096);
  const second = new NativeMemory(LINK_INFO_SIZE);
  const v = second.view;
  let asked = false;
  switch (head.type) {
    case LINK_TYPES.raw_tracepoint:
    case LINK_TYPES.iter:
      v.setBigUint64(16, BigInt(str.address), true);
      v.setUint32(24, str.length, true);
      asked = true;
      break;
    case LINK_TYPES.uprobe_multi:
      v.setBigUint64(16, BigInt(str.address), true);
      v.setUint32(48, str.length, true);
      asked = true;
      break;
    case LINK_TYPES.perf_event:
      // uprobe/kprobe/tracepoint names: file_name/func_name/tp_name at 24, length at 32.
      v.setBigUint64(24, BigInt(str.address), true);
      v.setUint32(32, str.length, true);
      asked = true;
      break;
  }
  let m = mem;
  if (asked) {
    try {
      objGetInfoByFd(linkFd, second, what);
      m = second;
    } catch {
      m = mem; // older kernels refuse some buffers: keep the plain info
    }
  }
  return { ...head, extra: decodeLinkInfoExtra(head.type, m.view, asked && m === second ? str : undefined) };
}

/** Decode the type-specific union of `bpf_link_info` (at offset 16). Pure apart from reading `str`. */
export function decodeLinkInfoExtra(type: number, v: DataView, str: NativeMemory | undefined): Record<string, number | bigint | string> {
  const u32 = (o: number) => v.getUint32(o, true);
  const u64 = (o: number) => v.getBigUint64(o, true);
  switch (type) {
    case LINK_TYPES.raw_tracepoint:
      return { tracepoint: cString(str, u32(24)) };
    case LINK_TYPES.tracing:
      return { attachType: u32(16), targetObjId: u32(20), targetBtfId: u32(24), cookie: u64(32) };
    case LINK_TYPES.cgroup:
      return { cgroupId: u64(16), attachType: u32(24) };
    case LINK_TYPES.iter:
      return { target: cString(str, u32(24)), mapId: u32(28) };
    case LINK_TYPES.netns:
      return { netnsIno: u32(16), attachType: u32(20) };
    case LINK_TYPES.xdp:
      return { ifindex: u32(16) };
    case LINK_TYPES.struct_ops:
      return { mapId: u32(16) };
    case LINK_TYPES.netfilter:
      return { pf: u32(16), hooknum: u32(20), priority: v.getInt32(24, true), flags: u32(28) };
    case LINK_TYPES.kprobe_multi:
      return { count: u32(24), flags: u32(28), missed: u64(32) };
    case LINK_TYPES.uprobe_multi:
      return { path: cString(str, u32(48)), count: u32(52), flags: u32(56), pid: u32(60) };
    case LINK_TYPES.perf_event:
      return { perfEventType: u32(16), name: cString(str, u32(32)) };
    case LINK_TYPES.tcx:
    case LINK_TYPES.netkit:
      return { ifindex: u32(16), attachType: u32(20) };
    case LINK_TYPES.sockmap:
      return { mapId: u32(16), attachType: u32(20) };
    default:
      return {};
  }
}
