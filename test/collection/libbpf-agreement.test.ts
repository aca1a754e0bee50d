/**
 * tsbpf and libbpf (through `bpftool prog loadall`) on every object in bpf/: what one loads the
 * other loads, and the programs and maps they make agree (bpftool's JSON as the reference).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { isTsbpfError } from "../../src/errors.js";
import { describeKernel, hasTool, itKernel, uniqueName } from "../helpers/kernel.js";

const BPF = join(__dirname, "../../bpf");
/** Every object under bpf/, this layer's and the other layers' test objects alike. */
const OBJECTS = (readdirSync(BPF, { recursive: true }) as string[]).filter((f) => f.endsWith(".o")).sort();
const hasBpftool = hasTool("bpftool", ["version"]);

/** Objects libbpf 1.x refuses by design while tsbpf (like cilium/ebpf) loads them. */
const LIBBPF_REFUSES = new Map([
  ["legacy_maps.o", /legacy map definitions in 'maps' section are not supported/],
  ["iproute2_maps.o", /legacy map definitions in 'maps' section are not supported/],
  // A perf event array with no key/value size: libbpf passes 0 (EINVAL); tsbpf fills in 4, as cilium/ebpf does.
  ["features/perf_sizes.o", /map 'events': failed to create: Invalid argument/],
]);
/**
 * Objects using features newer than the installed libbpf (1.1, bpftool 7.1): it skips the
 * section and then fails, while tsbpf loads them as libbpf 1.2+ does.
 */
const LIBBPF_TOO_OLD = new Map([
  // `.struct_ops.link` (BPF_F_LINK struct_ops maps) arrived in libbpf 1.2.
  ["struct_ops.o", /skipping unrecognized data section\(\d+\) \.struct_ops\.link/],
  ["cli/struct_ops_cc.o", /skipping unrecognized data section\(\d+\) \.struct_ops\.link/],
  // `?.struct_ops*` (maps not created by default) arrived in libbpf 1.4.
  ["struct_ops_optional.o", /skipping unrecognized data section\(\d+\) \?\.struct_ops\.link/],
  // `tcx/ingress` and `tcx/egress` section names arrived in libbpf 1.3.
  ["examples/policy.o", /failed to guess program type from ELF section 'tcx\/ingress'/],
]);
/** Maps that libbpf pins by name under /sys/fs/bpf while loading these objects. */
const BY_NAME_PINS = ["/sys/fs/bpf/pinned_hash", "/sys/fs/bpf/tc_shared"];

const cleanup: string[] = [];
afterEach(() => {
  for (const p of cleanup.splice(0)) rmSync(p, { recursive: true, force: true });
});

interface MapJson {
  type: string;
  name: string;
  flags: number;
  bytes_key: number;
  bytes_value: number;
  max_entries: number;
  frozen?: number;
}
interface ProgJson {
  type: string;
  name: string;
  map_ids?: number[];
}

const bpftool = (...args: string[]) => JSON.parse(execFileSync("bpftool", [...args, "-j"], { encoding: "utf8" }));
const mapShape = (m: MapJson) => ({ type: m.type, name: m.name, flags: m.flags, key: m.bytes_key, value: m.bytes_value, max: m.max_entries, frozen: m.frozen ?? 0 });
const byName = <T extends { name: string }>(list: T[]) => list.sort((a, b) => a.name.localeCompare(b.name));

function libbpfLoad(file: string): { ok: boolean; output: string; progs: ProgJson[]; maps: ReturnType<typeof mapShape>[]; partial?: boolean } {
  const dir = `/sys/fs/bpf/${uniqueName("libbpf")}`;
  cleanup.push(dir, ...BY_NAME_PINS);
  for (const p of BY_NAME_PINS) rmSync(p, { force: true });
  const r = spawnSync("bpftool", ["prog", "loadall", join(BPF, file), dir], { encoding: "utf8" });
  const output = `${r.stdout}${r.stderr}`;
  // bpftool tries to pin programs it did not load (`?` sections): that is not a load failure.
  const partialPin = /can't pin program that wasn't loaded/.test(output);
  const ok = r.status === 0 || partialPin;
  if (!ok) return { ok, output, progs: [], maps: [] };
  if (partialPin) {
    // Nothing stays pinned but the maps pinned by name: compare those.
    const maps = BY_NAME_PINS.filter((p) => spawnSync("test", ["-e", p]).status === 0).map((p) => mapShape(bpftool("map", "show", "pinned", p)));
    return { ok, output, progs: [], maps, partial: true };
  }
  const progs: ProgJson[] = readdirSync(dir).map((p) => bpftool("prog", "show", "pinned", join(dir, p)));
  const ids = new Set(progs.flatMap((p) => p.map_ids ?? []));
  const maps = [...ids].map((id) => mapShape(bpftool("map", "show", "id", String(id))));
  return { ok, output, progs, maps };
}

function tsbpfLoad(file: string): { ok: boolean; error?: unknown; progs: ProgJson[]; maps: ReturnType<typeof mapShape>[] } {
  for (const p of BY_NAME_PINS) rmSync(p, { force: true });
  let coll: Collection | undefined;
  try {
    coll = Collection.load(CollectionSpec.fromFile(join(BPF, file)));
  } catch (e) {
    if (!isTsbpfError(e)) throw e;
    return { ok: false, error: e, progs: [], maps: [] };
  }
  try {
    const progs: ProgJson[] = Object.values(coll.programs).map((p) => bpftool("prog", "show", "id", String(p.info().id)));
    const ids = new Set(progs.flatMap((p) => p.map_ids ?? []));
    const maps = [...ids].map((id) => mapShape(bpftool("map", "show", "id", String(id))));
    return { ok: true, progs, maps };
  } finally {
    coll.close();
  }
}

(hasBpftool ? describeKernel : describe.skip)("tsbpf agrees with libbpf (bpftool prog loadall)", () => {
  itKernel.each(OBJECTS)("%s", (file) => {
    const lib = libbpfLoad(file);
    const ours = tsbpfLoad(file);
    const refused = LIBBPF_REFUSES.get(file) ?? (lib.ok ? undefined : LIBBPF_TOO_OLD.get(file));
    if (refused) {
      expect(lib.ok).toBe(false);
      expect(lib.output).toMatch(refused);
      expect(ours.ok, String(ours.error)).toBe(true);
      return;
    }
    expect(ours.ok, `tsbpf: ${String(ours.error)}\nlibbpf: ${lib.output}`).toBe(lib.ok);
    if (!lib.ok) return;
    if (lib.partial) {
      // Only maps pinned by name outlive bpftool here; each must match ours.
      for (const m of lib.maps) expect(ours.maps).toContainEqual(m);
      return;
    }
    // Same programs (name, type), using maps of the same definitions.
    expect(byName(ours.progs.map((p) => ({ name: p.name, type: p.type })))).toEqual(byName(lib.progs.map((p) => ({ name: p.name, type: p.type }))));
    expect(byName(ours.maps)).toEqual(byName(lib.maps));
  });
});
