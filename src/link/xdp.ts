/**
 * XDP: attach a program to a network interface, by bpf_link (BPF_LINK_CREATE of BPF_XDP,
 * Linux 5.9) or by rtnetlink (IFLA_XDP, any kernel with XDP), in generic, driver or offload
 * mode. Also: which XDP programs an interface has.
 */
import { TsbpfError } from "../errors.js";
import { ATTACH_TYPES } from "../spec/program-type.js";
import { linkCreate } from "../sys/link-attr.js";
import { attrMap, attrU32, NetlinkBuilder, NetlinkSocket, RTM } from "../sys/netlink.js";
import { getInterface, ifinfomsg, IFLA } from "../sys/rtnetlink.js";
import type { NetnsRef } from "../sys/netns.js";
import { BpfLink, CallbackLink, dupFd, expectProgramType, programFd, programLabel, type AttachProgram, type Link, type LinkInfo } from "./link.js";
import { checkOptions } from "../errors.js";
import { inNetns, resolveInterface, type InterfaceRef } from "./target.js";

/** XDP attach modes: `"generic"` (skb, any device), `"driver"` (native), `"offload"` (NIC hardware). */
export type XdpMode = "generic" | "driver" | "offload";

/** `XDP_FLAGS_*`. */
export const XDP_FLAGS = {
  UPDATE_IF_NOEXIST: 1 << 0,
  SKB_MODE: 1 << 1,
  DRV_MODE: 1 << 2,
  HW_MODE: 1 << 3,
  REPLACE: 1 << 4,
} as const;

const MODE_FLAGS: Record<XdpMode, number> = { generic: XDP_FLAGS.SKB_MODE, driver: XDP_FLAGS.DRV_MODE, offload: XDP_FLAGS.HW_MODE };

/** IFLA_XDP_* nested attributes. */
const IFLA_XDP = { FD: 1, ATTACHED: 2, FLAGS: 3, PROG_ID: 4, DRV_PROG_ID: 5, SKB_PROG_ID: 6, HW_PROG_ID: 7, EXPECTED_FD: 8 } as const;

/** Options of `attachXdp`. */
export interface XdpOptions {
  /** The interface, by name or index. */
  interface: InterfaceRef;
  /** Attach mode. Default: the kernel's choice (driver when the device supports it, else generic). */
  mode?: XdpMode;
  /**
   * `"link"` (default): a bpf_link, which the kernel removes when its last fd closes and
   * which can be pinned and updated. `"netlink"`: the classic IFLA_XDP attach, which stays
   * until removed (tsbpf removes it on close).
   */
  method?: "link" | "netlink";
  /**
   * netlink only: replace this program atomically (XDP_FLAGS_REPLACE, Linux 5.7); without it,
   * attaching where a program is already attached fails with EBUSY.
   */
  replace?: AttachProgram;
  /** netlink only: replace whatever program is attached (no EBUSY). Default false. */
  force?: boolean;
  /** Network namespace (name under /var/run/netns or a path) that holds the interface. */
  netns?: NetnsRef;
}

const KEYS = ["interface", "mode", "method", "replace", "force", "netns"] as const;

function xdpHint(errno: number): string | undefined {
  if (errno === 16) return "another XDP program is attached (by netlink or another link); detach it, or use netlink with replace/force";
  if (errno === 95) return "the device does not support this XDP mode; try mode: \"generic\"";
  if (errno === 22) return "the program is not an XDP program, or the mode is invalid for this device";
  return undefined;
}

/**
 * Attach an XDP program to an interface. Returns a Link that detaches on close (a pinned
 * bpf_link stays). Min kernel: 5.9 for `method: "link"`, 4.8 for netlink (replace: 5.7).
 * Throws TypeError for bad options, NetlinkError/BpfError from the kernel (EBUSY when another
 * program holds the interface).
 */
export function attachXdp(program: AttachProgram<"xdp">, options: XdpOptions): Link {
  checkOptions("attachXdp", options, KEYS);
  const method = options.method ?? "link";
  if (method !== "link" && method !== "netlink") throw new TypeError(`attachXdp: method must be "link" or "netlink"`);
  if (options.mode !== undefined && !(options.mode in MODE_FLAGS)) throw new TypeError(`attachXdp: mode must be "generic", "driver" or "offload"`);
  if (method === "link" && (options.replace !== undefined || options.force)) {
    throw new TypeError("attachXdp: replace and force apply to method \"netlink\"; a link is updated with link.update()");
  }
  expectProgramType(program, "xdp", "attachXdp");
  const progFd = programFd(program, "attachXdp: program");
  const modeFlags = options.mode ? MODE_FLAGS[options.mode] : 0;
  const label = `xdp ${programLabel(program)} on ${JSON.stringify(options.interface)}`;
  return inNetns(options.netns, () => {
    const ifindex = resolveInterface(options.interface, "attachXdp");
    if (method === "link") {
      const fd = linkCreate(
        { progFd, target: ifindex, attachType: ATTACH_TYPES.xdp, flags: modeFlags, extra: { kind: "none" } },
        `${label}: attach`,
        xdpHint,
      );
      return new BpfLink(fd, "xdp", label);
    }
    let flags = modeFlags;
    let expected: number | undefined;
    if (options.replace !== undefined) {
      flags |= XDP_FLAGS.REPLACE;
      expected = programFd(options.replace, "attachXdp: replace");
    } else if (!options.force) {
      flags |= XDP_FLAGS.UPDATE_IF_NOEXIST;
    }
    const held = dupFd(progFd, label);
    try {
      setXdp(ifindex, progFd, flags, expected, `${label}: attach`);
    } catch (e) {
      held.close();
      throw e;
    }
    const netns = options.netns;
    return new CallbackLink(
      "netlink_xdp",
      label,
      () => {
        // Remove only our own program: REPLACE with expected fd = ours fails if someone swapped it.
        try {
          inNetns(netns, () => setXdp(ifindex, -1, modeFlags | XDP_FLAGS.REPLACE, held.value, `${label}: detach`));
        } catch (e) {
          if (!isGone(e)) throw e;
        }
      },
      () => {
        const q = inNetns(netns, () => queryXdp(ifindex));
        return { type: "netlink_xdp", ifindex, ...q } as LinkInfo;
      },
      [held],
    );
  });
}

function isGone(e: unknown): boolean {
  // The device or namespace vanished, or our program is no longer the attached one.
  const code = (e as { code?: string }).code;
  return code === "ENODEV" || code === "ENOENT" || code === "EEXIST" || code === "EBUSY";
}

/** IFLA_XDP set request. `fd` -1 detaches. */
function setXdp(ifindex: number, fd: number, flags: number, expectedFd: number | undefined, context: string): void {
  const body = new NetlinkBuilder(ifinfomsg({ index: ifindex }))
    .nest(
      IFLA.XDP,
      (b) => {
        b.s32(IFLA_XDP.FD, fd);
        if (flags) b.u32(IFLA_XDP.FLAGS, flags);
        if (expectedFd !== undefined) b.s32(IFLA_XDP.EXPECTED_FD, expectedFd);
      },
      true,
    )
    .finish();
  using sock = NetlinkSocket.open();
  sock.request(RTM.SETLINK, 0, body, { context });
}

/** The XDP programs of an interface, as rtnetlink reports them. */
export interface XdpQueryResult {
  /** `"none"`, `"driver"`, `"generic"`, `"offload"` or `"multi"` (programs in several modes). */
  attached: "none" | "driver" | "generic" | "offload" | "multi";
  /** The program id when exactly one mode has a program. */
  programId?: number;
  genericProgramId?: number;
  driverProgramId?: number;
  offloadProgramId?: number;
}

const ATTACHED_NAMES = ["none", "driver", "generic", "offload", "multi"] as const;

/** Which XDP programs an interface has (RTM_GETLINK, IFLA_XDP), in the caller's namespace or `netns`. */
export function queryXdp(iface: InterfaceRef, netns?: NetnsRef): XdpQueryResult {
  return inNetns(netns, () => {
    using sock = NetlinkSocket.open();
    const link = getInterface(sock, iface);
    const xdp = link.attrs.get(IFLA.XDP);
    if (!xdp) return { attached: "none" };
    const a = attrMap(xdp);
    const mode = a.get(IFLA_XDP.ATTACHED)?.[0] ?? 0;
    const r: XdpQueryResult = { attached: ATTACHED_NAMES[mode] ?? "multi" };
    const p = attrU32(a.get(IFLA_XDP.PROG_ID));
    if (p) r.programId = p;
    const s = attrU32(a.get(IFLA_XDP.SKB_PROG_ID));
    if (s) r.genericProgramId = s;
    const d = attrU32(a.get(IFLA_XDP.DRV_PROG_ID));
    if (d) r.driverProgramId = d;
    const h = attrU32(a.get(IFLA_XDP.HW_PROG_ID));
    if (h) r.offloadProgramId = h;
    if (r.attached !== "multi" && r.programId === undefined && mode !== 0) {
      r.programId = s ?? d ?? h;
    }
    return r;
  });
}

/**
 * Remove the XDP program attached by netlink to an interface in `mode` (default: the mode it
 * is attached in), whoever attached it — what `ip link set dev X xdp off` does. A program
 * attached by a bpf_link cannot be removed this way (EBUSY): detach its link. Throws
 * NetlinkError, TsbpfError when nothing is attached.
 */
export function detachXdp(iface: InterfaceRef, options: { mode?: XdpMode; netns?: NetnsRef } = {}): void {
  checkOptions("detachXdp", options, ["mode", "netns"]);
  inNetns(options.netns, () => {
    const ifindex = resolveInterface(iface, "detachXdp");
    const q = queryXdp(ifindex);
    const mode = options.mode ?? (q.attached === "driver" || q.attached === "generic" || q.attached === "offload" ? q.attached : undefined);
    if (q.attached === "none") throw new TsbpfError(`xdp on ${JSON.stringify(iface)}: detach: no XDP program is attached`);
    if (!mode) throw new TsbpfError(`xdp on ${JSON.stringify(iface)}: detach: programs are attached in several modes; name one`);
    setXdp(ifindex, -1, MODE_FLAGS[mode], undefined, `xdp on ${JSON.stringify(iface)}: detach`);
  });
}
