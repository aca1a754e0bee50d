/**
 * `tsbpf map list|show|dump`: the kernel's maps as tsbpf sees them, like `bpftool map`.
 *
 *   tsbpf map list [--json]                    every map: id, type, name, sizes, flags
 *   tsbpf map show <id|pinned path> [--json]   one map's info
 *   tsbpf map dump <id|pinned path> [--json]   its entries as hex bytes (per CPU for per-CPU maps)
 */
import { isBpfError, TsbpfError } from "../errors.js";
import { BpfMap, type MapInfo } from "../map/bpf-map.js";
import { listIds } from "../sys/obj.js";
import type { Command } from "./command.js";

const USAGE = "map list|show|dump [<id|pinned path>] [--json]";

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
}

/** Spaced hex like bpftool's plain output ("01 00 00 00"). */
function spaced(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

function infoJson(i: MapInfo): Record<string, unknown> {
  return {
    id: i.id,
    type: i.typeName ?? i.type,
    name: i.name,
    keySize: i.keySize,
    valueSize: i.valueSize,
    maxEntries: i.maxEntries,
    flags: i.flags,
    ...(i.btfId ? { btfId: i.btfId } : {}),
    ...(i.mapExtra ? { mapExtra: i.mapExtra.toString() } : {}),
    ...(i.frozen ? { frozen: true } : {}),
  };
}

function infoLine(i: MapInfo): string {
  const name = i.name ? `  name ${i.name}` : "";
  const flags = i.flags ? `  flags 0x${i.flags.toString(16)}` : "";
  const btf = i.btfId ? `  btf_id ${i.btfId}` : "";
  const frozen = i.frozen ? "  frozen" : "";
  return `${i.id}: ${i.typeName ?? i.type}${name}  key ${i.keySize}B  value ${i.valueSize}B  max_entries ${i.maxEntries}${flags}${btf}${frozen}`;
}

/** Open a map by id (all digits) or pinned path. The caller closes it. */
function openMap(target: string | undefined): BpfMap<Uint8Array, unknown> {
  if (!target) throw new TsbpfError(`missing map: usage: tsbpf ${USAGE}`);
  if (/^\d+$/.test(target)) return BpfMap.fromId(Number(target));
  return BpfMap.open(target);
}

/** Info of every map that still exists (a map may go away between listing and opening it). */
export function listMaps(): MapInfo[] {
  const out: MapInfo[] = [];
  for (const id of listIds("map")) {
    try {
      using m = BpfMap.fromId(id);
      out.push(m.info());
    } catch (e) {
      if (isBpfError(e) && e.code === "ENOENT") continue;
      throw e;
    }
  }
  return out;
}

/** A map's entries as hex strings: `value` for plain maps, `values` (one per CPU) for per-CPU maps. */
export function dumpMap(map: BpfMap<Uint8Array, unknown>): { key: string; value?: string; values?: string[] }[] {
  const rows: { key: string; value?: string; values?: string[] }[] = [];
  for (const [k, v] of map.entries()) {
    if (Array.isArray(v)) rows.push({ key: hex(k), values: (v as Uint8Array[]).map(hex) });
    else rows.push({ key: hex(k), value: hex(v as Uint8Array) });
  }
  return rows;
}

export const command: Command = {
  usage: USAGE,
  summary: "list, show and dump the kernel's BPF maps",
  run(args) {
    const json = args.includes("--json");
    const rest = args.filter((a) => a !== "--json");
    const unknown = rest.find((a) => a.startsWith("--"));
    if (unknown) throw new TsbpfError(`unknown option ${unknown}: usage: tsbpf ${USAGE}`);
    const [sub, target, extra] = rest;
    if (extra !== undefined) throw new TsbpfError(`unexpected argument "${extra}": usage: tsbpf ${USAGE}`);
    switch (sub) {
      case "list": {
        const maps = listMaps();
        console.log(json ? JSON.stringify(maps.map(infoJson)) : maps.map(infoLine).join("\n"));
        return 0;
      }
      case "show": {
        using m = openMap(target);
        const info = m.info();
        console.log(json ? JSON.stringify(infoJson(info)) : infoLine(info));
        return 0;
      }
      case "dump": {
        using m = openMap(target);
        const rows = dumpMap(m);
        if (json) {
          console.log(JSON.stringify(rows));
        } else {
          for (const r of rows) {
            if (r.values) {
              console.log(`key: ${spaced(Buffer.from(r.key, "hex"))}`);
              r.values.forEach((v, cpu) => console.log(`  cpu ${cpu}: ${spaced(Buffer.from(v, "hex"))}`));
            } else {
              console.log(`key: ${spaced(Buffer.from(r.key, "hex"))}  value: ${spaced(Buffer.from(r.value!, "hex"))}`);
            }
          }
          console.log(`Found ${rows.length} element${rows.length === 1 ? "" : "s"}`);
        }
        return 0;
      }
      default:
        throw new TsbpfError(`${sub ? `unknown subcommand "${sub}"` : "missing subcommand"}: usage: tsbpf ${USAGE}`);
    }
  },
};
