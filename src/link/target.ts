/**
 * Shared target resolution for network attach kinds: interfaces by name or index, inside an
 * optional network namespace, and the relative-ordering anchors of multi-program targets
 * (tcx, netkit, cgroup links).
 */
import { BPF_F } from "../sys/link-attr.js";
import { NetlinkSocket } from "../sys/netlink.js";
import { interfaceIndex, listInterfaces } from "../sys/rtnetlink.js";
import { withNetns, type NetnsRef } from "../sys/netns.js";
import { LINK_SEAL, programFd, type AttachProgram, type Link } from "./link.js";

/** A network interface: its name (`"eth0"`) or its index. */
export type InterfaceRef = string | number;

/** Run `fn` inside `netns` when given, else in the caller's namespace. */
export function inNetns<T>(netns: NetnsRef | undefined, fn: () => T): T {
  return netns === undefined ? fn() : withNetns(netns, fn);
}

/** The ifindex of an interface in the current thread's namespace. Throws TypeError/NetlinkError. */
export function resolveInterface(iface: InterfaceRef, what: string): number {
  if (typeof iface === "number") {
    if (!Number.isInteger(iface) || iface <= 0 || iface > 0x7fffffff) throw new TypeError(`${what}: interface index ${iface} is not a positive integer`);
    return iface;
  }
  if (typeof iface !== "string" || iface.length === 0 || iface.length > 15) {
    throw new TypeError(`${what}: interface must be a name of 1-15 characters or an index`);
  }
  return interfaceIndex(iface);
}

/** Every interface of the caller's namespace or `netns`, by ifindex (RTM_GETLINK dump). Throws NetlinkError. */
export function listNetInterfaces(netns?: NetnsRef): { name: string; index: number }[] {
  return inNetns(netns, () => {
    using sock = NetlinkSocket.open();
    return listInterfaces(sock)
      .map((i) => ({ name: i.name, index: i.index }))
      .sort((a, b) => a.index - b.index);
  });
}

/**
 * Where a program goes among the others on a multi-program target (tcx, netkit, cgroup 6.16+):
 * `"first"`/`"last"`, or relative to a program or link given as an object, fd or id.
 */
export type Anchor =
  | "first"
  | "last"
  | { program: AttachProgram }
  | { programId: number }
  | { link: Link }
  | { linkId: number };

/** Ordering options shared by multi-program targets. */
export interface OrderingOptions {
  /** Insert before this program or link (`"first"`: at the head). */
  before?: Anchor;
  /** Insert after this program or link (`"last"`: at the tail). */
  after?: Anchor;
  /** Fail with ESTALE unless the target's revision is this one (from a query). */
  expectedRevision?: bigint;
}

function checkId(n: number, what: string): number {
  if (!Number.isInteger(n) || n <= 0 || n > 0xffffffff) throw new TypeError(`${what}: id ${n} is not a positive u32`);
  return n;
}

/** Encode ordering into link_create/prog_attach flags and the relative fd or id. Pure apart from reading fds. */
export function encodeOrdering(o: OrderingOptions, what: string): { flags: number; relative: number; expectedRevision: bigint } {
  if (o.before !== undefined && o.after !== undefined) throw new TypeError(`${what}: give before or after, not both`);
  const anchor = o.before ?? o.after;
  const dir = o.before !== undefined ? BPF_F.BEFORE : o.after !== undefined ? BPF_F.AFTER : 0;
  const rev = o.expectedRevision ?? 0n;
  if (typeof rev !== "bigint" || rev < 0n) throw new TypeError(`${what}: expectedRevision must be a non-negative bigint`);
  if (anchor === undefined) return { flags: 0, relative: 0, expectedRevision: rev };
  if (anchor === "first") return { flags: BPF_F.BEFORE, relative: 0, expectedRevision: rev };
  if (anchor === "last") return { flags: BPF_F.AFTER, relative: 0, expectedRevision: rev };
  if (typeof anchor !== "object" || anchor === null) throw new TypeError(`${what}: bad anchor ${String(anchor)}`);
  if ("program" in anchor) return { flags: dir, relative: programFd(anchor.program, `${what}: anchor program`), expectedRevision: rev };
  if ("programId" in anchor) return { flags: dir | BPF_F.ID, relative: checkId(anchor.programId, what), expectedRevision: rev };
  if ("link" in anchor) {
    const l = anchor.link;
    if (!l || (l as unknown as Record<symbol, unknown>)[LINK_SEAL] !== true || !l.fd) {
      throw new TypeError(`${what}: anchor link must be a bpf_link made by tsbpf`);
    }
    return { flags: dir | BPF_F.LINK, relative: l.fd.value, expectedRevision: rev };
  }
  if ("linkId" in anchor) return { flags: dir | BPF_F.LINK | BPF_F.ID, relative: checkId(anchor.linkId, what), expectedRevision: rev };
  throw new TypeError(`${what}: an anchor is "first", "last", {program}, {programId}, {link} or {linkId}`);
}
