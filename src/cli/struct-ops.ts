/**
 * `tsbpf struct_ops`: struct_ops maps (kernel ops tables implemented in BPF, e.g. a TCP
 * congestion control), like `bpftool struct_ops` — list, register, unregister.
 */
import { basename, join } from "node:path";
import { mkdirSync } from "node:fs";
import { kernelBtf } from "../features/kernel-btf.js";
import { Collection } from "../collection/collection.js";
import { CollectionSpec } from "../elf/collection-spec.js";
import { TsbpfError } from "../errors.js";
import { Link } from "../link/link.js";
import { attachStructOpsMap } from "../link/struct-ops.js";
import { BpfMap, type MapInfo } from "../map/bpf-map.js";
import { arg, noMoreArgs, str, UsageError, type Command } from "./command.js";
import { legalPinName } from "./pin-names.js";

/** The kernel struct a struct_ops map implements ("tcp_congestion_ops"), from vmlinux BTF. */
function kernelStructOps(i: MapInfo): string {
  if (!i.btfVmlinuxValueTypeId) return "";
  try {
    // The value type is `struct bpf_struct_ops_<name>`.
    return kernelBtf().typeById(i.btfVmlinuxValueTypeId).name.replace(/^bpf_struct_ops_/, "");
  } catch {
    return "";
  }
}

function structOpsMaps(): { info: MapInfo; kernel: string }[] {
  return BpfMap.list()
    .filter((i) => i.typeName === "struct_ops")
    .map((info) => ({ info, kernel: kernelStructOps(info) }));
}

const list: Command = {
  summary: "list the struct_ops maps and the kernel struct each implements",
  run(ctx) {
    noMoreArgs(ctx, 0);
    const rows = structOpsMaps();
    if (ctx.json) ctx.printJson(rows.map((r) => ({ id: r.info.id, name: r.info.name, kernel_struct_ops: r.kernel })));
    else for (const r of rows) ctx.out(`${r.info.id}: ${r.info.name}  ${r.kernel}`);
  },
};

const register: Command = {
  summary: "load an object and register each of its struct_ops maps",
  args: "<object.o>",
  description: "A .struct_ops map is registered by filling it and stays registered after the command exits.\nA .struct_ops.link map is registered by a bpf_link, which needs --pin DIR to outlive the command\n(pinned as DIR/<map name>).",
  options: { pin: { type: "string", value: "DIR", description: "pin the links of .struct_ops.link maps under DIR" } },
  run(ctx) {
    const file = arg(ctx, 0, "<object.o>");
    noMoreArgs(ctx, 1);
    const spec = CollectionSpec.fromFile(file);
    const keys = Object.entries(spec.maps).filter(([, m]) => m.type === "struct_ops").map(([k]) => k);
    if (keys.length === 0) throw new TsbpfError(`${basename(file)} has no struct_ops map`);
    const linked = keys.filter((k) => spec.maps[k].section?.includes(".link") || (spec.maps[k].flags ?? 0) & (1 << 13));
    const pinDir = str(ctx, "pin");
    if (linked.length && !pinDir) throw new UsageError(`${linked.join(", ")} ${linked.length === 1 ? "is" : "are"} registered by a link: give --pin DIR so it outlives this command`);
    using coll = Collection.load(spec);
    const out: { name: string; id: number; link_id?: number; pinned?: string }[] = [];
    if (pinDir) mkdirSync(pinDir, { recursive: true });
    for (const k of keys) {
      const m = coll.maps[k];
      if (linked.includes(k)) {
        using l = attachStructOpsMap(m);
        const path = join(pinDir!, legalPinName(k));
        l.pin(path);
        out.push({ name: k, id: m.id, link_id: l.id, pinned: path });
      } else out.push({ name: k, id: m.id });
    }
    if (ctx.json) ctx.printJson(out);
    else for (const r of out) ctx.out(`registered ${r.name} (map id ${r.id}${r.link_id ? `, link id ${r.link_id} pinned at ${r.pinned}` : ""})`);
  },
};

const unregister: Command = {
  summary: "unregister a struct_ops map by id or name",
  args: "<id> | id <id> | name <name>",
  run(ctx) {
    const a = arg(ctx, 0, "<id|name>");
    const v = a === "id" || a === "name" ? arg(ctx, 1, `<${a}>`) : a;
    noMoreArgs(ctx, a === "id" || a === "name" ? 2 : 1);
    const byName = a === "name" || !/^\d+$/.test(v);
    const hits = structOpsMaps().filter((r) => (byName ? r.info.name === v : r.info.id === Number(v)));
    if (hits.length === 0) throw new TsbpfError(`no struct_ops map has ${byName ? "name" : "id"} ${v}`);
    for (const h of hits) {
      // A link-registered map is unregistered by detaching its link; the other kind by deleting its element.
      const link = Link.list().find((l) => l.type === "struct_ops" && l.mapId === h.info.id);
      if (link?.id) {
        using l = Link.fromId(link.id);
        l.detach();
      } else {
        using m = BpfMap.fromId(h.info.id);
        if (!m.delete(new Uint8Array(4))) throw new TsbpfError(`struct_ops map ${h.info.id}: not registered`);
      }
      ctx.out(`unregistered ${h.info.name} (map id ${h.info.id})`);
    }
  },
};

/** The `tsbpf struct_ops` command. */
export const command: Command = {
  summary: "list, register and unregister struct_ops maps",
  subcommands: { list, show: list, register, unregister },
};
