/**
 * Classic tc: a `clsact` qdisc and `cls_bpf` filters over rtnetlink, the way `tc filter add
 * dev X ingress bpf da obj ...` does it. Works on every kernel with clsact (4.5) and coexists
 * with tcx (tcx programs run first).
 */
import { TsbpfError } from "../errors.js";
import { attrMap, attrString, attrU32, NetlinkBuilder, NetlinkError, NetlinkSocket, NLM_F, RTM } from "../sys/netlink.js";
import { tcmsg } from "../sys/rtnetlink.js";
import type { NetnsRef } from "../sys/netns.js";
import { expectProgramType, CallbackLink, programFd, programLabel, type AttachProgram, type Link, type LinkInfo } from "./link.js";
import { checkOptions } from "../errors.js";
import { inNetns, resolveInterface, type InterfaceRef } from "./target.js";

/** `TC_H_CLSACT` (= TC_H_INGRESS): parent of the clsact qdisc. */
export const TC_H_CLSACT = 0xfffffff1;
const CLSACT_HANDLE = 0xffff0000;
const TC_H_MIN_INGRESS = 0xfff2;
const TC_H_MIN_EGRESS = 0xfff3;
const ETH_P_ALL = 0x0003;
const TCA_KIND = 1;
const TCA_OPTIONS = 2;
/** `TCA_BPF_*` attributes of cls_bpf. */
const TCA_BPF = { CLASSID: 3, FD: 6, NAME: 7, FLAGS: 8, FLAGS_GEN: 9, TAG: 10, ID: 11 } as const;
const TCA_BPF_FLAG_ACT_DIRECT = 1;

/** The filter parent of a clsact direction. Pure. */
export function clsactParent(dir: "ingress" | "egress"): number {
  return ((CLSACT_HANDLE | (dir === "ingress" ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS)) >>> 0);
}

function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/** tcmsg `info` of a filter: priority in the upper 16 bits, protocol (network order) below. Pure. */
export function filterInfo(priority: number, protocol = ETH_P_ALL): number {
  return ((priority << 16) | htons(protocol)) >>> 0;
}

/** Options of `attachTc`. */
export interface TcOptions {
  /** The interface, by name or index. */
  interface: InterfaceRef;
  /** `"ingress"` or `"egress"` of the clsact qdisc. */
  direction: "ingress" | "egress";
  /** Filter priority, 1..65535 (lower runs first). Default 1. */
  priority?: number;
  /** Filter handle, 1..0xffffffff. Default 1. */
  handle?: number;
  /** Direct action: the program's return code is the verdict (TC_ACT_*). Default true. */
  directAction?: boolean;
  /** The filter's name as `tc filter show` prints it. Default: the program's name or "tsbpf". */
  name?: string;
  /** Replace an existing filter with the same priority and handle instead of failing with EEXIST. Default false. */
  replace?: boolean;
  /** classid for non-direct-action filters. */
  classid?: number;
  /** Network namespace that holds the interface. */
  netns?: NetnsRef;
}

const KEYS = ["interface", "direction", "priority", "handle", "directAction", "name", "replace", "classid", "netns"] as const;

/**
 * Create the clsact qdisc on an interface unless it has one. Returns whether it was created.
 * Throws NetlinkError.
 */
export function ensureClsact(sock: NetlinkSocket, ifindex: number): boolean {
  const body = new NetlinkBuilder(tcmsg({ ifindex, handle: CLSACT_HANDLE, parent: TC_H_CLSACT })).string(TCA_KIND, "clsact").finish();
  try {
    sock.request(RTM.NEWQDISC, NLM_F.CREATE | NLM_F.EXCL, body, { context: `tc: create clsact qdisc on interface ${ifindex}` });
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === "EEXIST") return false;
    throw e;
  }
}

/** Remove the clsact qdisc of an interface (and every filter on it). Throws NetlinkError (EINVAL/ENOENT when there is none). */
export function removeClsact(iface: InterfaceRef, netns?: NetnsRef): void {
  inNetns(netns, () => {
    const ifindex = resolveInterface(iface, "removeClsact");
    using sock = NetlinkSocket.open();
    const body = new NetlinkBuilder(tcmsg({ ifindex, handle: CLSACT_HANDLE, parent: TC_H_CLSACT })).string(TCA_KIND, "clsact").finish();
    sock.request(RTM.DELQDISC, 0, body, { context: `tc: remove clsact qdisc on ${JSON.stringify(iface)}` });
  });
}

function checkU(n: number | undefined, lo: number, hi: number, what: string): void {
  if (n !== undefined && (!Number.isInteger(n) || n < lo || n > hi)) throw new TypeError(`attachTc: ${what} must be an integer in ${lo}..${hi}`);
}

/**
 * Attach a sched_cls program as a cls_bpf filter on the clsact qdisc of an interface
 * (creating the qdisc if needed). Close removes the filter while it still runs this program
 * (the qdisc stays: other filters may use it; see removeClsact). Min kernel 4.5. Throws TypeError for bad options,
 * NetlinkError with the kernel's message (EEXIST when a filter has this priority and handle).
 */
export function attachTc(program: AttachProgram<"sched_cls" | "sched_act">, options: TcOptions): Link {
  checkOptions("attachTc", options, KEYS);
  if (options.direction !== "ingress" && options.direction !== "egress") throw new TypeError('attachTc: direction must be "ingress" or "egress"');
  checkU(options.priority, 1, 0xffff, "priority");
  checkU(options.handle, 1, 0xffffffff, "handle");
  checkU(options.classid, 0, 0xffffffff, "classid");
  expectProgramType(program, "tc", "attachTc");
  const progFd = programFd(program, "attachTc: program");
  const priority = options.priority ?? 1;
  const handle = options.handle ?? 1;
  const parent = clsactParent(options.direction);
  const info = filterInfo(priority);
  const pname = typeof program === "object" && program && "name" in program && typeof program.name === "string" ? program.name : undefined;
  const name = options.name ?? (pname || "tsbpf");
  const da = options.directAction ?? true;
  const label = `tc ${options.direction} ${programLabel(program)} on ${JSON.stringify(options.interface)} (prio ${priority} handle ${handle})`;
  const netns = options.netns;
  const ifindex = inNetns(netns, () => {
    const ifindex = resolveInterface(options.interface, "attachTc");
    using sock = NetlinkSocket.open();
    ensureClsact(sock, ifindex);
    const body = new NetlinkBuilder(tcmsg({ ifindex, handle, parent, info }))
      .string(TCA_KIND, "bpf")
      .nest(TCA_OPTIONS, (b) => {
        b.u32(TCA_BPF.FD, progFd).string(TCA_BPF.NAME, name);
        if (da) b.u32(TCA_BPF.FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
        if (options.classid !== undefined) b.u32(TCA_BPF.CLASSID, options.classid);
      })
      .finish();
    sock.request(RTM.NEWTFILTER, NLM_F.CREATE | (options.replace ? NLM_F.REPLACE : NLM_F.EXCL), body, { context: `${label}: attach` });
    return ifindex;
  });
  // The program id our filter runs: close removes the filter only while it still runs it.
  const ourId = queryTc(ifindex, options.direction, netns).find((f) => f.priority === priority && f.handle === handle)?.programId;
  return new CallbackLink(
    "tc",
    label,
    () => {
      try {
        const now = queryTc(ifindex, options.direction, netns).find((f) => f.priority === priority && f.handle === handle);
        if (!now || (ourId !== undefined && now.programId !== ourId)) return; // gone, or replaced by someone else's
        inNetns(netns, () => {
          using sock = NetlinkSocket.open();
          const body = new NetlinkBuilder(tcmsg({ ifindex, handle, parent, info })).string(TCA_KIND, "bpf").finish();
          sock.request(RTM.DELTFILTER, 0, body, { context: `${label}: detach` });
        });
      } catch (e) {
        const code = (e as { code?: string }).code;
        // Gone with its interface or namespace, or removed by someone else.
        if (code !== "ENODEV" && code !== "ENOENT" && code !== "EINVAL") throw e;
      }
    },
    () => {
      const f = queryTc(ifindex, options.direction, netns).find((x) => x.priority === priority && x.handle === handle);
      if (!f) throw new TsbpfError(`${label}: the filter is no longer on the interface`);
      return { type: "tc", ifindex, direction: options.direction, ...f } as LinkInfo;
    },
  );
}

/** One cls_bpf filter as `tc filter show` would list it. */
export interface TcFilter {
  priority: number;
  handle: number;
  /** The filter's kind ("bpf" for cls_bpf). */
  kind: string;
  programId?: number;
  name?: string;
  directAction: boolean;
}

/** The filters on a clsact direction of an interface (RTM_GETTFILTER dump). Throws NetlinkError. */
export function queryTc(iface: InterfaceRef, dir: "ingress" | "egress", netns?: NetnsRef): TcFilter[] {
  return inNetns(netns, () => {
    const ifindex = resolveInterface(iface, "queryTc");
    using sock = NetlinkSocket.open();
    let msgs;
    try {
      msgs = sock.dump(RTM.GETTFILTER, tcmsg({ ifindex, parent: clsactParent(dir) }), { context: `tc ${dir} on ${JSON.stringify(iface)}: list filters` });
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === "EINVAL" || e.code === "ENOENT")) return []; // no clsact qdisc
      throw e;
    }
    const out: TcFilter[] = [];
    for (const m of msgs) {
      if (m.type !== RTM.NEWTFILTER || m.body.length < 20) continue;
      const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
      const handle = v.getUint32(8, true);
      if (handle === 0) continue; // the chain head entry of a priority, not a filter
      const attrs = attrMap(m.body.subarray(20));
      const opts = attrMap(attrs.get(TCA_OPTIONS) ?? new Uint8Array(0));
      out.push({
        priority: v.getUint32(16, true) >>> 16,
        handle,
        kind: attrString(attrs.get(TCA_KIND)) ?? "",
        programId: attrU32(opts.get(TCA_BPF.ID)),
        name: attrString(opts.get(TCA_BPF.NAME)),
        directAction: ((attrU32(opts.get(TCA_BPF.FLAGS)) ?? 0) & TCA_BPF_FLAG_ACT_DIRECT) !== 0,
      });
    }
    return out;
  });
}

/**
 * Remove the cls_bpf filter with this priority and handle from an interface's clsact
 * direction, whoever added it (`tc filter del`). Throws NetlinkError (ENOENT when there is none).
 */
export function detachTc(iface: InterfaceRef, dir: "ingress" | "egress", filter: { priority: number; handle: number }, netns?: NetnsRef): void {
  checkU(filter.priority, 1, 0xffff, "priority");
  checkU(filter.handle, 1, 0xffffffff, "handle");
  inNetns(netns, () => {
    const ifindex = resolveInterface(iface, "detachTc");
    using sock = NetlinkSocket.open();
    const body = new NetlinkBuilder(tcmsg({ ifindex, handle: filter.handle, parent: clsactParent(dir), info: filterInfo(filter.priority) })).string(TCA_KIND, "bpf").finish();
    sock.request(RTM.DELTFILTER, 0, body, { context: `tc ${dir} filter pref ${filter.priority} handle ${filter.handle} on ${JSON.stringify(iface)}: detach` });
  });
}
