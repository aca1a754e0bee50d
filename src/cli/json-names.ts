/**
 * bpftool's JSON field names for the facts tsbpf and bpftool both print. One home, so every
 * command spells a fact the same way: `id`, `type`, `name`, `tag`, `prog_id`, `map_ids`,
 * `bytes_key`… A fact bpftool does not print keeps tsbpf's name in snake_case.
 */
import { readFileSync } from "node:fs";
import type { MapInfo } from "../map/bpf-map.js";
import type { ProgramInfo } from "../program/info.js";

/** camelCase → snake_case (`programId` → `program_id`). */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const RENAME: Readonly<Record<string, string>> = { programId: "prog_id", attachType: "attach_type" };

/** A record with bpftool's names: known renames, then snake_case; undefined fields dropped. */
export function bpftoolFields(o: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[RENAME[k] ?? snake(k)] = v;
  return out;
}

/** Boot time in seconds since the epoch: now minus CLOCK_BOOTTIME (/proc/uptime), as bpftool computes it. */
function bootEpochSeconds(): number {
  try {
    const up = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    if (Number.isFinite(up)) return Date.now() / 1000 - up;
  } catch {
    // no procfs
  }
  return Date.now() / 1000 - process.uptime();
}

/** A load time in ns since boot as bpftool's `loaded_at` (seconds since the epoch). */
export function loadedAt(ns: bigint): number {
  return Math.floor(bootEpochSeconds() + Number(ns) / 1e9);
}

/** `bpftool prog show -j` fields of a program (plus `full_name` when the kernel's is truncated). */
export function programJson(i: ProgramInfo, extra: { fullName?: string; pinned?: readonly string[] } = {}): Record<string, unknown> {
  return {
    id: i.id,
    type: typeof i.type === "number" ? i.type : i.type,
    ...(i.name ? { name: i.name } : {}),
    ...(extra.fullName && extra.fullName !== i.name ? { full_name: extra.fullName } : {}),
    tag: i.tag,
    gpl_compatible: i.gplCompatible,
    ...(i.runTimeNs || i.runCount ? { run_time_ns: i.runTimeNs, run_cnt: i.runCount } : {}),
    ...(i.recursionMisses ? { recursion_misses: i.recursionMisses } : {}),
    loaded_at: loadedAt(i.loadTimeNs),
    uid: i.createdByUid,
    bytes_xlated: i.translatedSize,
    jited: i.jitedSize > 0,
    bytes_jited: i.jitedSize,
    ...(i.memlock !== undefined ? { bytes_memlock: i.memlock } : {}),
    ...(i.mapIds.length ? { map_ids: [...i.mapIds] } : {}),
    ...(i.btfId ? { btf_id: i.btfId } : {}),
    ...(i.verifiedInstructions ? { verified_insns: i.verifiedInstructions } : {}),
    ...(extra.pinned?.length ? { pinned: [...extra.pinned] } : {}),
  };
}

/** `bpftool map show -j` fields of a map. */
export function mapJson(i: MapInfo, extra: { pinned?: readonly string[] } = {}): Record<string, unknown> {
  return {
    id: i.id,
    type: i.typeName ?? i.type,
    ...(i.name ? { name: i.name } : {}),
    flags: i.flags,
    bytes_key: i.keySize,
    bytes_value: i.valueSize,
    max_entries: i.maxEntries,
    ...(i.memlock !== undefined ? { bytes_memlock: i.memlock } : {}),
    ...(i.frozen ? { frozen: 1 } : {}),
    ...(i.btfId ? { btf_id: i.btfId } : {}),
    ...(i.mapExtra ? { map_extra: i.mapExtra } : {}),
    ...(extra.pinned?.length ? { pinned: [...extra.pinned] } : {}),
  };
}
