/**
 * netkit: attach a program to the primary or peer side of a netkit device pair as a bpf_link
 * (BPF_LINK_CREATE of BPF_NETKIT_PRIMARY/PEER, Linux 6.7), ordered like tcx.
 */
import { ATTACH_TYPES } from "../spec/program-type.js";
import { linkCreate, progDetach, progQuery } from "../sys/link-attr.js";
import { getFdById } from "../sys/obj.js";
import type { NetnsRef } from "../sys/netns.js";
import { expectProgramType, BpfLink, linkFromId, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";
import type { MprogQueryResult } from "./tcx.js";
import { encodeOrdering, inNetns, resolveInterface, type InterfaceRef, type OrderingOptions } from "./target.js";

/** Options of `attachNetkit`. */
export interface NetkitOptions extends OrderingOptions {
  /** The netkit primary device (both sides are attached through the primary). */
  interface: InterfaceRef;
  /** `"primary"` or `"peer"`. */
  side: "primary" | "peer";
  /** Network namespace that holds the device. */
  netns?: NetnsRef;
}

const KEYS = ["interface", "side", "netns", "before", "after", "expectedRevision"] as const;

function side(s: unknown): number {
  if (s === "primary") return ATTACH_TYPES.netkit_primary;
  if (s === "peer") return ATTACH_TYPES.netkit_peer;
  throw new TypeError('attachNetkit: side must be "primary" or "peer"');
}

/**
 * Attach a program to a netkit device. Returns a bpf_link Link. Min kernel 6.7.
 * Throws TypeError for bad options, BpfError (ENXIO/EINVAL when the device is not netkit).
 */
export function attachNetkit(program: AttachProgram<"sched_cls">, options: NetkitOptions): Link {
  checkOptions("attachNetkit", options, KEYS);
  const attachType = side(options.side);
  expectProgramType(program, "netkit", "attachNetkit");
  const progFd = programFd(program, "attachNetkit: program");
  const order = encodeOrdering(options, "attachNetkit");
  const label = `netkit ${options.side} ${programLabel(program)} on ${JSON.stringify(options.interface)}`;
  return inNetns(options.netns, () => {
    const ifindex = resolveInterface(options.interface, "attachNetkit");
    const fd = linkCreate(
      { progFd, target: ifindex, attachType, flags: order.flags, extra: { kind: "mprog", relative: order.relative, expectedRevision: order.expectedRevision } },
      `${label}: attach`,
      (e) => (e === 6 || e === 22 ? "the device is not a netkit device (or the kernel has no netkit: Linux 6.7+ with CONFIG_NETKIT)" : undefined),
    );
    return new BpfLink(fd, "netkit", label);
  });
}

/** The programs on a netkit side, in run order. */
export function queryNetkit(iface: InterfaceRef, s: "primary" | "peer", netns?: NetnsRef): MprogQueryResult {
  const attachType = side(s);
  return inNetns(netns, () => {
    const ifindex = resolveInterface(iface, "queryNetkit");
    const r = progQuery(ifindex, attachType, 0, `netkit ${s} on ${JSON.stringify(iface)}: query`);
    return { programIds: r.progIds, linkIds: r.linkIds, revision: r.revision };
  });
}

/**
 * Detach the program with id `programId` from a netkit side: through its bpf_link when it was
 * attached with one (BPF_LINK_DETACH: the program stops, pins and fds stay valid), else with
 * BPF_PROG_DETACH. Throws BpfError (ENOENT when it is not attached there).
 */
export function detachNetkit(iface: InterfaceRef, s: "primary" | "peer", programId: number, netns?: NetnsRef): void {
  const attachType = side(s);
  const what = `netkit ${s} program ${programId} on ${JSON.stringify(iface)}: detach`;
  const q = queryNetkit(iface, s, netns);
  const at = q.programIds.indexOf(programId);
  const linkId = at >= 0 ? q.linkIds[at] : 0;
  if (linkId) {
    using l = linkFromId(linkId);
    l.detach();
    return;
  }
  // Not attached (the kernel says ENOENT) or attached without a link.
  using prog = getFdById("prog", programId);
  inNetns(netns, () => {
    const ifindex = resolveInterface(iface, "detachNetkit");
    progDetach({ target: ifindex, progFd: prog.value, attachType, flags: 0 }, what);
  });
}
