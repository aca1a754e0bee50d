/**
 * `tsbpf net`: XDP, tcx, tc and netkit programs of network interfaces, like `bpftool net`.
 *
 * `attach` without `--pin` uses the kinds that stay after the command exits (netlink XDP,
 * BPF_PROG_ATTACH for tcx, a cls_bpf filter for tc); with `--pin PATH` it creates a bpf_link
 * (XDP, tcx) and pins it, so `tsbpf link detach` or removing the pin ends it. netkit is
 * attached only as a bpf_link (BPF_NETKIT_PRIMARY/PEER), so it needs `--pin`.
 */
import { readdirSync } from "node:fs";
import { attachNetkit, detachNetkit, queryNetkit } from "../link/netkit.js";
import { queryTc, attachTc, detachTc } from "../link/tc.js";
import { queryTcx, attachTcx, detachTcx } from "../link/tcx.js";
import { queryXdp, attachXdp, detachXdp, type XdpMode } from "../link/xdp.js";
import { Program } from "../program/program.js";
import { arg, noMoreArgs, str, UsageError, type Command, type Context } from "./command.js";

/** Every interface of this network namespace (from /sys/class/net). */
function interfaces(): string[] {
  try {
    return readdirSync("/sys/class/net").sort();
  } catch {
    return [];
  }
}

/** What one interface has attached, in bpftool `net show -j`'s spirit. */
export function netInfo(iface: string, netns?: string): Record<string, unknown> {
  const xdp = queryXdp(iface, netns);
  const tcx = (d: "ingress" | "egress") => {
    const q = queryTcx(iface, d, netns);
    return q.programIds.map((id, i) => ({ prog_id: id, ...(q.linkIds[i] ? { link_id: q.linkIds[i] } : {}) }));
  };
  const tc = (d: "ingress" | "egress") => {
    try {
      return queryTc(iface, d, netns).map((f) => ({ prio: f.priority, handle: f.handle, kind: f.kind, ...(f.name ? { name: f.name } : {}), ...(f.programId ? { prog_id: f.programId } : {}), direct_action: f.directAction }));
    } catch {
      return []; // no clsact qdisc
    }
  };
  const modes = [
    ...(xdp.genericProgramId ? [{ mode: "generic", prog_id: xdp.genericProgramId }] : []),
    ...(xdp.driverProgramId ? [{ mode: "driver", prog_id: xdp.driverProgramId }] : []),
    ...(xdp.offloadProgramId ? [{ mode: "offload", prog_id: xdp.offloadProgramId }] : []),
  ];
  if (modes.length === 0 && xdp.programId) modes.push({ mode: xdp.attached, prog_id: xdp.programId });
  return { devname: iface, xdp: modes, tcx_ingress: tcx("ingress"), tcx_egress: tcx("egress"), tc_ingress: tc("ingress"), tc_egress: tc("egress"), ...netkitInfo(iface, netns) };
}

/**
 * netkit_primary/netkit_peer of a netkit device; nothing for any other device (the kernel
 * answers a netkit query on it, or on a kernel without CONFIG_NETKIT, with an error).
 */
function netkitInfo(iface: string, netns?: string): Record<string, unknown> {
  const side = (s: "primary" | "peer") => {
    const q = queryNetkit(iface, s, netns);
    return q.programIds.map((id, i) => ({ prog_id: id, ...(q.linkIds[i] ? { link_id: q.linkIds[i] } : {}) }));
  };
  try {
    return { netkit_primary: side("primary"), netkit_peer: side("peer") };
  } catch {
    return {};
  }
}

function textOf(n: Record<string, unknown>): string[] {
  const out: string[] = [];
  const list = (k: string) => n[k] as Record<string, unknown>[];
  for (const x of list("xdp")) out.push(`${n.devname}  xdp ${x.mode}  prog_id ${x.prog_id}`);
  for (const d of ["ingress", "egress"]) {
    for (const x of list(`tcx_${d}`)) out.push(`${n.devname}  tcx/${d}  prog_id ${x.prog_id}${x.link_id ? `  link_id ${x.link_id}` : ""}`);
    for (const x of list(`tc_${d}`)) out.push(`${n.devname}  tc/${d}  ${x.name ?? ""} prio ${x.prio} handle ${x.handle}  prog_id ${x.prog_id ?? "-"}${x.direct_action ? "  direct-action" : ""}`);
  }
  for (const s of ["primary", "peer"]) {
    for (const x of list(`netkit_${s}`) ?? []) out.push(`${n.devname}  netkit/${s}  prog_id ${x.prog_id}${x.link_id ? `  link_id ${x.link_id}` : ""}`);
  }
  return out;
}

const NETNS = { netns: { type: "string" as const, value: "NAME", description: "network namespace (name under /var/run/netns or a path)" } };

const list: Command = {
  summary: "list the XDP, tcx, tc and netkit programs of every interface (or of one)",
  args: "[<interface>]",
  options: NETNS,
  run(ctx) {
    noMoreArgs(ctx, 1);
    const netns = str(ctx, "netns");
    const names = ctx.args[0] ? [ctx.args[0]] : interfaces();
    if (names.length === 0) throw new UsageError("name an interface (no /sys/class/net to list them)");
    const rows = names.map((n) => netInfo(n, netns));
    if (ctx.json) ctx.printJson(ctx.args[0] ? rows[0] : rows);
    else for (const r of rows) for (const l of textOf(r)) ctx.out(l);
  },
};

const KINDS = ["xdp", "xdpgeneric", "xdpdrv", "xdpoffload", "tcx_ingress", "tcx_egress", "tc_ingress", "tc_egress", "netkit_primary", "netkit_peer"] as const;
type Kind = (typeof KINDS)[number];
const XDP_MODE: Partial<Record<Kind, XdpMode>> = { xdpgeneric: "generic", xdpdrv: "driver", xdpoffload: "offload" };

function kindOf(ctx: Context): Kind {
  const k = arg(ctx, 0, `<kind> (${KINDS.join(", ")})`);
  if (!(KINDS as readonly string[]).includes(k)) throw new UsageError(`"${k}" is not an attach kind (${KINDS.join(", ")})`);
  return k as Kind;
}

function openProg(spec: string): Program {
  if (/^\d+$/.test(spec)) return Program.fromId(Number(spec));
  if (spec.startsWith("/")) return Program.open(spec);
  throw new UsageError(`"${spec}" is not a program id or a pinned path`);
}

const TC_OPTS = {
  priority: { type: "string" as const, value: "N", description: "tc filter priority (default 1)" },
  handle: { type: "string" as const, value: "N", description: "tc filter handle (default 1)" },
};

function u(ctx: Context, name: string, dflt: number): number {
  const t = str(ctx, name);
  if (t === undefined) return dflt;
  const n = Number(t);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} takes a positive integer, not "${t}"`);
  return n;
}

const attach: Command = {
  summary: "attach a program to an interface (xdp, xdpgeneric, xdpdrv, tcx_ingress/egress, tc_ingress/egress, netkit_primary/peer)",
  args: "<kind> <prog id|pinned path> <interface>",
  options: {
    ...NETNS,
    ...TC_OPTS,
    pin: { type: "string", value: "PATH", description: "create a bpf_link (xdp, tcx, netkit) and pin it at PATH (netkit: required)" },
    overwrite: { type: "boolean", description: "replace the XDP program already attached (netlink)" },
  },
  examples: ["tsbpf net attach xdpgeneric 42 eth0", "tsbpf net attach tcx_ingress /sys/fs/bpf/prog eth0 --pin /sys/fs/bpf/eth0_in", "tsbpf net attach netkit_peer 42 nk0 --pin /sys/fs/bpf/nk0_peer"],
  run(ctx) {
    const kind = kindOf(ctx);
    using prog = openProg(arg(ctx, 1, "<prog id|pinned path>"));
    const iface = arg(ctx, 2, "<interface>");
    noMoreArgs(ctx, 3);
    const netns = str(ctx, "netns");
    const pin = str(ctx, "pin");
    // The attachment must outlive this process: never close a non-pinned legacy attachment here.
    if (kind.startsWith("xdp")) {
      const mode = XDP_MODE[kind];
      if (pin) {
        using l = attachXdp(prog, { interface: iface, ...(mode ? { mode } : {}), ...(netns ? { netns } : {}) });
        l.pin(pin);
      } else attachXdp(prog, { interface: iface, method: "netlink", ...(mode ? { mode } : {}), ...(netns ? { netns } : {}), ...(ctx.options.overwrite ? { force: true } : {}) });
    } else if (kind.startsWith("tcx_")) {
      const direction = kind === "tcx_ingress" ? "ingress" : "egress";
      if (pin) {
        using l = attachTcx(prog, { interface: iface, direction, ...(netns ? { netns } : {}) });
        l.pin(pin);
      } else attachTcx(prog, { interface: iface, direction, method: "attach", ...(netns ? { netns } : {}) });
    } else if (kind.startsWith("netkit_")) {
      // A netkit attachment is a bpf_link: without a pin it would end with this process.
      if (!pin) throw new UsageError("netkit programs are attached as bpf_links: give --pin PATH to keep the link after the command exits");
      using l = attachNetkit(prog, { interface: iface, side: kind === "netkit_primary" ? "primary" : "peer", ...(netns ? { netns } : {}) });
      l.pin(pin);
    } else {
      if (pin) throw new UsageError("tc filters are not bpf_links and cannot be pinned (use tcx_ingress/tcx_egress)");
      attachTc(prog, { interface: iface, direction: kind === "tc_ingress" ? "ingress" : "egress", priority: u(ctx, "priority", 1), handle: u(ctx, "handle", 1), ...(netns ? { netns } : {}) });
    }
  },
};

const detach: Command = {
  summary: "detach a program from an interface",
  args: "<kind> <interface> [<prog id>]",
  description: "xdp*: the netlink-attached program (a bpf_link is detached with `tsbpf link detach`). tcx_*: the\nprogram with this id, attached without a link. tc_*: the filter of --priority/--handle (default 1/1).\nnetkit_*: the program with this id, through its bpf_link (BPF_LINK_DETACH; a pin stays valid) or,\nattached without one, with BPF_PROG_DETACH.",
  options: { ...NETNS, ...TC_OPTS },
  run(ctx) {
    const kind = kindOf(ctx);
    const iface = arg(ctx, 1, "<interface>");
    const netns = str(ctx, "netns");
    if (kind.startsWith("xdp")) {
      noMoreArgs(ctx, 2);
      const mode = XDP_MODE[kind];
      detachXdp(iface, { ...(mode ? { mode } : {}), ...(netns ? { netns } : {}) });
    } else if (kind.startsWith("tcx_")) {
      const id = arg(ctx, 2, "<prog id>");
      noMoreArgs(ctx, 3);
      if (!/^\d+$/.test(id)) throw new UsageError(`"${id}" is not a program id`);
      detachTcx(iface, kind === "tcx_ingress" ? "ingress" : "egress", Number(id), netns);
    } else if (kind.startsWith("netkit_")) {
      const id = arg(ctx, 2, "<prog id>");
      noMoreArgs(ctx, 3);
      if (!/^\d+$/.test(id)) throw new UsageError(`"${id}" is not a program id`);
      detachNetkit(iface, kind === "netkit_primary" ? "primary" : "peer", Number(id), netns);
    } else {
      noMoreArgs(ctx, 2);
      detachTc(iface, kind === "tc_ingress" ? "ingress" : "egress", { priority: u(ctx, "priority", 1), handle: u(ctx, "handle", 1) }, netns);
    }
  },
};

/** The `tsbpf net` command. */
export const command: Command = {
  summary: "list, attach and detach XDP, tcx, tc and netkit programs of interfaces",
  subcommands: { list, show: list, attach, detach },
};
