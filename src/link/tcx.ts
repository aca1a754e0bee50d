/**
 * tcx: attach a sched_cls program to the ingress or egress of an interface as a bpf_link
 * (BPF_LINK_CREATE of BPF_TCX_INGRESS/EGRESS, Linux 6.6), ordered among the others, and list
 * what is attached (BPF_PROG_QUERY with link ids and revision).
 */
import { ATTACH_TYPES } from "../program/program-type.js";
import { linkCreate, progQuery } from "../sys/link-attr.js";
import type { NetnsRef } from "../sys/netlink.js";
import { BpfLink, checkOptions, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { encodeOrdering, inNetns, resolveInterface, type InterfaceRef, type OrderingOptions } from "./target.js";

/** Options of `attachTcx`. */
export interface TcxOptions extends OrderingOptions {
  /** The interface, by name or index. */
  interface: InterfaceRef;
  /** `"ingress"` or `"egress"`. */
  direction: "ingress" | "egress";
  /** Network namespace that holds the interface. */
  netns?: NetnsRef;
}

const KEYS = ["interface", "direction", "netns", "before", "after", "expectedRevision"] as const;

function direction(d: unknown, what: string): number {
  if (d === "ingress") return ATTACH_TYPES.tcx_ingress;
  if (d === "egress") return ATTACH_TYPES.tcx_egress;
  throw new TypeError(`${what}: direction must be "ingress" or "egress"`);
}

/**
 * Attach a sched_cls program with tcx. Returns a bpf_link Link (pin, update, detach).
 * Min kernel 6.6. Throws TypeError for bad options, BpfError (ENOENT: anchor not attached;
 * ESTALE: revision changed; EEXIST: program already attached there).
 */
export function attachTcx(program: AttachProgram, options: TcxOptions): Link {
  checkOptions("attachTcx", options, KEYS);
  const attachType = direction(options.direction, "attachTcx");
  const progFd = programFd(program, "attachTcx: program");
  const order = encodeOrdering(options, "attachTcx");
  const label = `tcx ${options.direction} ${programLabel(program)} on ${JSON.stringify(options.interface)}`;
  return inNetns(options.netns, () => {
    const ifindex = resolveInterface(options.interface, "attachTcx");
    const fd = linkCreate(
      { progFd, target: ifindex, attachType, flags: order.flags, extra: { kind: "mprog", relative: order.relative, expectedRevision: order.expectedRevision } },
      `${label}: attach`,
      (e) => (e === 22 ? "tcx needs Linux 6.6 and a sched_cls program" : e === 116 ? "the attachments changed since the revision was read: query again" : undefined),
    );
    return new BpfLink(fd, "tcx", label);
  });
}

/** What is attached to one mprog hook (tcx, netkit, cgroup). */
export interface MprogQueryResult {
  /** Program ids in run order. */
  programIds: number[];
  /** Link ids parallel to programIds (0 for a program attached without a link). */
  linkIds: number[];
  /** The hook's revision: pass it as expectedRevision to attach only if nothing changed. */
  revision: bigint;
}

/** The programs on an interface's tcx ingress or egress, in run order. Throws BpfError. */
export function queryTcx(iface: InterfaceRef, dir: "ingress" | "egress", netns?: NetnsRef): MprogQueryResult {
  const attachType = direction(dir, "queryTcx");
  return inNetns(netns, () => {
    const ifindex = resolveInterface(iface, "queryTcx");
    const r = progQuery(ifindex, attachType, 0, `tcx ${dir} on ${JSON.stringify(iface)}: query`);
    return { programIds: r.progIds, linkIds: r.linkIds, revision: r.revision };
  });
}
