/**
 * tcx: attach a sched_cls program to the ingress or egress of an interface as a bpf_link
 * (BPF_LINK_CREATE of BPF_TCX_INGRESS/EGRESS, Linux 6.6), ordered among the others, and list
 * what is attached (BPF_PROG_QUERY with link ids and revision).
 */
import { ATTACH_TYPES } from "../spec/program-type.js";
import { BPF_F, linkCreate, progDetach, progQuery } from "../sys/link-attr.js";
import { getFdById } from "../sys/obj.js";
import type { NetnsRef } from "../sys/netns.js";
import { expectProgramType, BpfLink, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";
import { progAttachLink } from "./prog-attach.js";
import { encodeOrdering, inNetns, resolveInterface, type InterfaceRef, type OrderingOptions } from "./target.js";

/** Options of `attachTcx`. */
export interface TcxOptions extends OrderingOptions {
  /** The interface, by name or index. */
  interface: InterfaceRef;
  /** `"ingress"` or `"egress"`. */
  direction: "ingress" | "egress";
  /**
   * `"link"` (default): a bpf_link, removed when its last fd closes. `"attach"`:
   * BPF_PROG_ATTACH, which stays until detached (tsbpf detaches on close) and can `replace`.
   */
  method?: "link" | "attach";
  /** `method: "attach"` only: atomically replace this attached program (BPF_F_REPLACE). */
  replace?: AttachProgram;
  /** Network namespace that holds the interface. */
  netns?: NetnsRef;
}

const KEYS = ["interface", "direction", "method", "replace", "netns", "before", "after", "expectedRevision"] as const;

function direction(d: unknown, what: string): number {
  if (d === "ingress") return ATTACH_TYPES.tcx_ingress;
  if (d === "egress") return ATTACH_TYPES.tcx_egress;
  throw new TypeError(`${what}: direction must be "ingress" or "egress"`);
}

/**
 * Attach a sched_cls program with tcx. Returns a bpf_link Link (pin, update, detach), or
 * with `method: "attach"` a BPF_PROG_ATTACH attachment that close detaches. Min kernel 6.6. Throws TypeError for bad options, BpfError (ENOENT: anchor not attached;
 * ESTALE: revision changed; EEXIST: program already attached there).
 */
export function attachTcx(program: AttachProgram<"sched_cls">, options: TcxOptions): Link {
  checkOptions("attachTcx", options, KEYS);
  const attachType = direction(options.direction, "attachTcx");
  expectProgramType(program, "tcx", "attachTcx");
  const progFd = programFd(program, "attachTcx: program");
  const order = encodeOrdering(options, "attachTcx");
  const label = `tcx ${options.direction} ${programLabel(program)} on ${JSON.stringify(options.interface)}`;
  const method = options.method ?? "link";
  if (method !== "link" && method !== "attach") throw new TypeError('attachTcx: method must be "link" or "attach"');
  if (options.replace !== undefined && method !== "attach") throw new TypeError('attachTcx: replace applies to method "attach"; a link is updated with link.update()');
  return inNetns(options.netns, () => {
    const ifindex = resolveInterface(options.interface, "attachTcx");
    if (method === "attach") return attachTcxLegacy(progFd, ifindex, attachType, order, options, label);
    const fd = linkCreate(
      { progFd, target: ifindex, attachType, flags: order.flags, extra: { kind: "mprog", relative: order.relative, expectedRevision: order.expectedRevision } },
      `${label}: attach`,
      (e) => (e === 22 ? "tcx needs Linux 6.6 and a sched_cls program" : e === 116 ? "the attachments changed since the revision was read: query again" : undefined),
    );
    return new BpfLink(fd, "tcx", label);
  });
}

function attachTcxLegacy(
  progFd: number,
  ifindex: number,
  attachType: number,
  order: ReturnType<typeof encodeOrdering>,
  options: TcxOptions,
  label: string,
): Link {
  let flags = order.flags;
  let replaceFd: number | undefined;
  if (options.replace !== undefined) {
    flags |= BPF_F.REPLACE;
    replaceFd = programFd(options.replace, "attachTcx: replace");
  }
  const netns = options.netns;
  return progAttachLink({
    label,
    progFd,
    target: ifindex,
    attachType,
    attach: { flags, replaceFd, relative: order.relative, expectedRevision: order.expectedRevision },
    goneOnDetach: ["ENOENT", "ENODEV"], // replaced by someone, or the device is gone
    within: (fn) => inNetns(netns, fn),
    info: (query) => {
      const q = query();
      return { type: "prog_attach", attachType: options.direction === "ingress" ? "tcx_ingress" : "tcx_egress", ifindex, programIds: q.progIds, revision: q.revision };
    },
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

/**
 * Detach the program with id `programId` from an interface's tcx hook when it was attached
 * with BPF_PROG_ATTACH (a link-attached one is detached through its link). Throws BpfError
 * (ENOENT when it is not attached there).
 */
export function detachTcx(iface: InterfaceRef, dir: "ingress" | "egress", programId: number, netns?: NetnsRef): void {
  const attachType = direction(dir, "detachTcx");
  const prog = getFdById("prog", programId);
  try {
    inNetns(netns, () => {
      const ifindex = resolveInterface(iface, "detachTcx");
      progDetach({ target: ifindex, progFd: prog.value, attachType, flags: 0 }, `tcx ${dir} program ${programId} on ${JSON.stringify(iface)}: detach`);
    });
  } finally {
    prog.close();
  }
}
