/**
 * `tsbpf net`: XDP, tcx, tc and netkit programs of network interfaces, like `bpftool net`.
 *
 * `attach` without `--pin` uses the kinds that stay after the command exits (netlink XDP,
 * BPF_PROG_ATTACH for tcx, a cls_bpf filter for tc); with `--pin PATH` it creates a bpf_link
 * (XDP, tcx) and pins it, so `tsbpf link detach` or removing the pin ends it. netkit is
 * attached only as a bpf_link (BPF_NETKIT_PRIMARY/PEER), so it needs `--pin`.
 */
import { queryNetfilter } from "../link/netfilter.js";
import { attachNetkit, detachNetkit, queryNetkit } from "../link/netkit.js";
import { queryNetns } from "../link/netns.js";
import { listNetInterfaces } from "../link/target.js";
import { queryTc, attachTc, detachTc } from "../link/tc.js";
import { queryTcx, attachTcx, detachTcx } from "../link/tcx.js";
import { queryXdp, attachXdp, detachXdp, type XdpMode } from "../link/xdp.js";
import { Program } from "../program/program.js";
import { arg, noMoreArgs, str, UsageError, type Command, type Context } from "./command.js";
import { fullName } from "./prog.js";

type Row = Record<string, unknown>;

/**
 * `bpftool -j net list`'s one object: `xdp` (one row per interface, or `multi_attachments`),
 * `tc` (tcx and netkit from BPF_PROG_QUERY, then classic clsact filters), `flow_dissector` of the
 * namespace and every `netfilter` link. Field names are bpftool's; a classic filter also carries
 * `prio`, `handle` and `direct_action`, which bpftool does not print.
 */
export interface NetList {
  xdp: Row[];
  tc: Row[];
  flow_dissector: Row[];
  netfilter: Row[];
}

/** A program's name as bpftool prints it (the full BTF name), or undefined when it is gone or unnamed. */
function progName(id: number): string | undefined {
  try {
    using p = Program.fromId(id);
    return fullName(p, p.info()) || undefined;
  } catch {
    return undefined; // unloaded meanwhile
  }
}

function xdpRows(dev: { name: string; index: number }, netns?: string): Row[] {
  const q = queryXdp(dev.index, netns);
  const head = { devname: dev.name, ifindex: dev.index };
  if (q.attached === "none") return [];
  if (q.attached === "multi") {
    const multi = [
      ...(q.genericProgramId ? [{ mode: "generic", id: q.genericProgramId }] : []),
      ...(q.driverProgramId ? [{ mode: "driver", id: q.driverProgramId }] : []),
      ...(q.offloadProgramId ? [{ mode: "offload", id: q.offloadProgramId }] : []),
    ];
    return [{ ...head, multi_attachments: multi }];
  }
  return [{ ...head, mode: q.attached, id: q.programId }];
}

/**
 * tcx and netkit rows. The kernel reports no per-program or per-link flags for these
 * multi-program hooks (always 0), so `prog_flags`/`link_flags` are empty, as bpftool prints
 * them; `link_id` is 0 for a program attached without a link.
 */
function mprogRows(dev: { name: string; index: number }, netns?: string): Row[] {
  const rows: Row[] = [];
  const add = (kind: string, q: { programIds: readonly number[]; linkIds: readonly number[] }) => {
    q.programIds.forEach((id, i) => {
      const name = progName(id);
      rows.push({ devname: dev.name, ifindex: dev.index, kind, ...(name ? { name } : {}), prog_id: id, prog_flags: [], link_id: q.linkIds[i] ?? 0, link_flags: [] });
    });
  };
  for (const d of ["ingress", "egress"] as const) add(`tcx/${d}`, queryTcx(dev.index, d, netns));
  for (const s of ["primary", "peer"] as const) {
    let q;
    try {
      q = queryNetkit(dev.index, s, netns);
    } catch {
      continue; // not a netkit device (or no CONFIG_NETKIT): the kernel refuses the query
    }
    add(`netkit/${s}`, q);
  }
  return rows;
}

function classicRows(dev: { name: string; index: number }, netns?: string): Row[] {
  const rows: Row[] = [];
  for (const d of ["ingress", "egress"] as const) {
    let filters;
    try {
      filters = queryTc(dev.index, d, netns);
    } catch {
      continue; // no clsact qdisc
    }
    for (const f of filters) {
      rows.push({ devname: dev.name, ifindex: dev.index, kind: `clsact/${d}`, ...(f.name ? { name: f.name } : {}), ...(f.programId ? { id: f.programId } : {}), prio: f.priority, handle: f.handle, direct_action: f.directAction });
    }
  }
  return rows;
}

/** The flow dissector program of the namespace (bpftool queries its own namespace). */
function flowDissector(netns?: string): Row[] {
  try {
    return queryNetns("flow_dissector", netns).map((id) => ({ id }));
  } catch {
    return []; // a kernel that cannot query it
  }
}

/** Every netfilter link, sorted as bpftool sorts them (family, hook, priority). */
function netfilter(): Row[] {
  return queryNetfilter()
    .map((l) => l as unknown as { pf: number; hooknum: number; priority: number; flags: number; programId: number })
    .sort((a, b) => a.pf - b.pf || a.hooknum - b.hooknum || a.priority - b.priority)
    .map((l) => ({ pf: l.pf, hook: l.hooknum, prio: l.priority, flags: l.flags, id: l.programId }));
}

/** What `bpftool net list [dev X]` shows, for every interface of the namespace or the one named. */
export function netList(iface?: string, netns?: string): NetList {
  let devs = listNetInterfaces(netns);
  if (iface !== undefined) {
    devs = devs.filter((d) => d.name === iface || String(d.index) === iface);
    if (devs.length === 0) throw new UsageError(`no interface "${iface}"${netns ? ` in network namespace ${netns}` : ""}`);
  }
  return {
    xdp: devs.flatMap((d) => xdpRows(d, netns)),
    tc: devs.flatMap((d) => [...mprogRows(d, netns), ...classicRows(d, netns)]),
    flow_dissector: flowDissector(netns),
    netfilter: netfilter(),
  };
}

/** bpftool's plain `net list` layout. */
function textOf(n: NetList): string[] {
  const dev = (r: Row) => `${r.devname}(${r.ifindex})`;
  const out = ["xdp:"];
  for (const r of n.xdp) {
    const m = (r.multi_attachments as Row[] | undefined) ?? [r];
    out.push(`${dev(r)} ${m.map((x) => `${x.mode} id ${x.id}`).join(" ")}`);
  }
  out.push("", "tc:");
  for (const r of n.tc) {
    const name = r.name ? ` ${r.name}` : "";
    if ("prog_id" in r) out.push(`${dev(r)} ${r.kind}${name} prog_id ${r.prog_id}${r.link_id ? ` link_id ${r.link_id}` : ""}`);
    else out.push(`${dev(r)} ${r.kind}${name}${r.id ? ` id ${r.id}` : ""} prio ${r.prio} handle ${r.handle}${r.direct_action ? " direct-action" : ""}`);
  }
  out.push("", "flow_dissector:");
  for (const r of n.flow_dissector) out.push(`id ${r.id}`);
  out.push("", "netfilter:");
  for (const r of n.netfilter) out.push(`pf ${r.pf} hook ${r.hook} prio ${r.prio} flags ${r.flags} prog_id ${r.id}`);
  return out;
}

const NETNS = { netns: { type: "string" as const, value: "NAME", description: "network namespace (name under /var/run/netns or a path)" } };

const list: Command = {
  summary: "list the XDP, tcx, tc and netkit programs of every interface (or of one), the flow dissector and netfilter links",
  args: "[<interface>]",
  description: "--json prints bpftool's `net list -j` shape: [{\"xdp\": [...], \"tc\": [...], \"flow_dissector\": [...], \"netfilter\": [...]}].",
  options: NETNS,
  run(ctx) {
    noMoreArgs(ctx, 1);
    const n = netList(ctx.args[0], str(ctx, "netns"));
    if (ctx.json) ctx.printJson([n]);
    else for (const l of textOf(n)) ctx.out(l);
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
