/**
 * `tsbpf cgroup`: programs attached to cgroup v2 hooks, like `bpftool cgroup` — tree, show,
 * attach, detach. Attach types take libbpf's names (`cgroup_inet_ingress`) or bpftool's short
 * ones (`ingress`, `connect4`, `sock_ops`…).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { attachCgroup, CGROUP_ATTACH_TYPES, detachCgroup, queryCgroup, type CgroupAttachType } from "../link/cgroup.js";
import { Program } from "../program/program.js";
import { arg, noMoreArgs, str, UsageError, type Command, type Context } from "./command.js";
import { btfById, fullName } from "./prog.js";

/** bpftool's short names of cgroup attach types. */
const SHORT: Readonly<Record<string, CgroupAttachType>> = {
  ingress: "cgroup_inet_ingress",
  egress: "cgroup_inet_egress",
  sock_create: "cgroup_inet_sock_create",
  sock_release: "cgroup_inet_sock_release",
  sock_ops: "cgroup_sock_ops",
  device: "cgroup_device",
  bind4: "cgroup_inet4_bind",
  bind6: "cgroup_inet6_bind",
  connect4: "cgroup_inet4_connect",
  connect6: "cgroup_inet6_connect",
  post_bind4: "cgroup_inet4_post_bind",
  post_bind6: "cgroup_inet6_post_bind",
  sendmsg4: "cgroup_udp4_sendmsg",
  sendmsg6: "cgroup_udp6_sendmsg",
  recvmsg4: "cgroup_udp4_recvmsg",
  recvmsg6: "cgroup_udp6_recvmsg",
  sysctl: "cgroup_sysctl",
  getsockopt: "cgroup_getsockopt",
  setsockopt: "cgroup_setsockopt",
};

function attachType(name: string): CgroupAttachType {
  if ((CGROUP_ATTACH_TYPES as readonly string[]).includes(name)) return name as CgroupAttachType;
  if (SHORT[name]) return SHORT[name];
  throw new UsageError(`"${name}" is not a cgroup attach type (e.g. ${Object.keys(SHORT).slice(0, 6).join(", ")}, or ${CGROUP_ATTACH_TYPES[0]}…)`);
}

/** The cgroup v2 mount point. */
function cgroupRoot(): string {
  for (const p of ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]) if (existsSync(join(p, "cgroup.procs"))) return p;
  return "/sys/fs/cgroup";
}

/**
 * What is attached to one cgroup: bpftool `cgroup show -j` rows, with its fields (`id`,
 * `attach_type`, `attach_flags` — "" for none, left out with --effective as bpftool does —
 * `name`, and the BTF target of an lsm_cgroup program: `attach_btf_name`, `attach_btf_obj_id`,
 * `attach_btf_id`, "" and 0 for any other).
 */
export function cgroupPrograms(path: string, effective = false): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const t of CGROUP_ATTACH_TYPES) {
    let q;
    try {
      q = queryCgroup(path, t, { effective });
    } catch {
      continue; // an attach type this kernel does not know
    }
    const flags = q.attachFlags === 2 ? "multi" : q.attachFlags === 1 ? "override" : q.attachFlags === 0 ? "" : `unknown(${q.attachFlags.toString(16)})`;
    for (const id of q.programIds) {
      let name = "";
      let btf = { attach_btf_name: "", attach_btf_obj_id: 0, attach_btf_id: 0 };
      try {
        using p = Program.fromId(id);
        const info = p.info();
        name = fullName(p, info);
        btf = { attach_btf_name: attachBtfName(info.attachBtfObjId, info.attachBtfId), attach_btf_obj_id: info.attachBtfObjId, attach_btf_id: info.attachBtfId };
      } catch {
        // unloaded meanwhile
      }
      rows.push({ id, attach_type: t, ...(effective ? {} : { attach_flags: flags }), name, ...btf });
    }
  }
  return rows;
}

/** The name of the kernel function an lsm_cgroup program hooks ("" for other programs). */
function attachBtfName(objId: number, typeId: number): string {
  if (!typeId) return "";
  try {
    return btfById(objId)?.typeById(typeId).name ?? "";
  } catch {
    return "";
  }
}

function textRows(rows: Record<string, unknown>[]): string[] {
  return rows.map((r) => `${String(r.id).padEnd(8)}${String(r.attach_type).padEnd(28)}${String(r.attach_flags ?? "").padEnd(10)}${r.name}`);
}

const show: Command = {
  summary: "show the programs attached to a cgroup",
  args: "<cgroup path>",
  options: { effective: { type: "boolean", description: "include programs inherited from ancestors" } },
  run(ctx) {
    const path = arg(ctx, 0, "<cgroup path>");
    noMoreArgs(ctx, 1);
    const rows = cgroupPrograms(path, ctx.options.effective === true);
    if (ctx.json) ctx.printJson(rows);
    else {
      if (rows.length) ctx.out(`${"ID".padEnd(8)}${"AttachType".padEnd(28)}${"AttachFlags".padEnd(10)}Name`);
      for (const l of textRows(rows)) ctx.out(l);
    }
  },
};

const tree: Command = {
  summary: "walk a cgroup tree and show every cgroup with programs attached",
  args: "[<root>]",
  options: { depth: { type: "string", value: "N", description: "how deep to walk (default 64)" } },
  run(ctx) {
    noMoreArgs(ctx, 1);
    const root = ctx.args[0] ?? cgroupRoot();
    const max = Number(str(ctx, "depth") ?? "64");
    if (!Number.isInteger(max) || max < 0) throw new UsageError(`--depth takes a number, not "${str(ctx, "depth")}"`);
    const out: { cgroup: string; programs: Record<string, unknown>[] }[] = [];
    const walk = (dir: string, depth: number) => {
      const programs = cgroupPrograms(dir);
      if (programs.length) out.push({ cgroup: dir, programs });
      if (depth >= max) return;
      let entries: string[] = [];
      try {
        entries = readdirSync(dir);
      } catch {
        return;
      }
      for (const e of entries.sort()) {
        const p = join(dir, e);
        try {
          if (statSync(p).isDirectory()) walk(p, depth + 1);
        } catch {
          // removed meanwhile
        }
      }
    };
    walk(root, 0);
    if (ctx.json) ctx.printJson(out);
    else {
      ctx.out(`CgroupPath\n${"ID".padEnd(8)}${"AttachType".padEnd(28)}${"AttachFlags".padEnd(10)}Name`);
      for (const c of out) {
        ctx.out(c.cgroup);
        for (const l of textRows(c.programs)) ctx.out(`    ${l}`);
      }
    }
  },
};

function openProg(ctx: Context, i: number): Program {
  const spec = arg(ctx, i, "<prog id|pinned path>");
  if (/^\d+$/.test(spec)) return Program.fromId(Number(spec));
  if (spec.startsWith("/")) return Program.open(spec);
  throw new UsageError(`"${spec}" is not a program id or a pinned path`);
}

const attach: Command = {
  summary: "attach a program to a cgroup hook (stays after the command exits)",
  args: "<cgroup path> <attach type> <prog id|pinned path>",
  options: {
    flags: { type: "string", value: "multi|override|none", description: "BPF_PROG_ATTACH flags (default multi)" },
    pin: { type: "string", value: "PATH", description: "attach with a bpf_link instead and pin it at PATH" },
  },
  examples: ["tsbpf cgroup attach /sys/fs/cgroup/unified/app egress 42"],
  run(ctx) {
    const cgroup = arg(ctx, 0, "<cgroup path>");
    const type = attachType(arg(ctx, 1, "<attach type>"));
    using prog = openProg(ctx, 2);
    noMoreArgs(ctx, 3);
    const flags = str(ctx, "flags") ?? "multi";
    if (flags !== "multi" && flags !== "override" && flags !== "none") throw new UsageError(`--flags is multi, override or none, not "${flags}"`);
    const pin = str(ctx, "pin");
    if (pin) {
      using l = attachCgroup(prog, { cgroup, attachType: type, method: "link" });
      l.pin(pin);
    } else {
      // BPF_PROG_ATTACH stays until detached; the Link object is dropped, not closed.
      attachCgroup(prog, { cgroup, attachType: type, method: "attach", flags });
    }
  },
};

const detach: Command = {
  summary: "detach a program attached without a link from a cgroup hook",
  args: "<cgroup path> <attach type> <prog id>",
  run(ctx) {
    const cgroup = arg(ctx, 0, "<cgroup path>");
    const type = attachType(arg(ctx, 1, "<attach type>"));
    const id = arg(ctx, 2, "<prog id>");
    noMoreArgs(ctx, 3);
    if (!/^\d+$/.test(id)) throw new UsageError(`"${id}" is not a program id`);
    detachCgroup(cgroup, type, Number(id));
  },
};

/** The `tsbpf cgroup` command. */
export const command: Command = {
  summary: "show, attach and detach cgroup programs",
  subcommands: { tree, show, list: show, attach, detach },
};
