/**
 * Interop with an independent client: bpftool reads what tsbpf writes, and tsbpf reads what
 * bpftool writes.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { afterEach, beforeEach, expect, it } from "vitest";
import { u32, u64 } from "../../src/codec.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { MAP_TYPES, type MapTypeName } from "../../src/spec/map-type.js";
import { possibleCpus } from "../../src/map/possible-cpus.js";
import { describeKernel, uniqueName } from "../helpers/kernel.js";

function bpftool(...args: string[]): unknown {
  return JSON.parse(execFileSync("bpftool", ["-j", ...args], { encoding: "utf8" }));
}

/** bpftool's hex byte strings ("0x2a") as numbers. */
function hexBytes(list: string[]): number[] {
  return list.map((h) => Number.parseInt(h, 16));
}

function le(n: bigint, size: number): number[] {
  return Array.from({ length: size }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
}

let dir: string;
beforeEach(() => {
  dir = `/sys/fs/bpf/${uniqueName("tsbpf_bt")}`;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describeKernel("bpftool interop", () => {
  it("dumps a hash map that tsbpf created, pinned and filled, with the same entries", () => {
    mkdirSync(dir);
    using m = BpfMap.create({ name: "interop_hash", type: "hash", key: u32, value: u64, maxEntries: 64 });
    const entries = new Map<number, bigint>();
    for (let i = 0; i < 40; i++) entries.set(i * 3 + 1, BigInt(i) * 0x0102030405n);
    for (const [k, v] of entries) m.set(k, v);
    m.pin(`${dir}/hash`);
    const dump = bpftool("map", "dump", "pinned", `${dir}/hash`) as { key: string[]; value: string[] }[];
    expect(dump).toHaveLength(entries.size);
    const seen = new Map<number, bigint>();
    for (const e of dump) {
      const k = hexBytes(e.key);
      const v = hexBytes(e.value);
      seen.set(k[0]! | (k[1]! << 8) | (k[2]! << 16) | (k[3]! << 24), v.reduce((acc, b, i) => acc | (BigInt(b) << BigInt(8 * i)), 0n));
    }
    expect(seen).toEqual(entries);
    const show = bpftool("map", "show", "pinned", `${dir}/hash`) as Record<string, unknown>;
    expect(show).toMatchObject({ id: m.id, type: "hash", name: "interop_hash", bytes_key: 4, bytes_value: 8, max_entries: 64 });
  });

  it("dumps per-CPU values per CPU", () => {
    mkdirSync(dir);
    const cpus = possibleCpus();
    using m = BpfMap.create({ type: "percpu_array", key: u32, value: u32, maxEntries: 2 });
    const values = Array.from({ length: cpus }, (_, i) => 1000 + i);
    m.set(1, values);
    m.pin(`${dir}/pcpu`);
    const dump = bpftool("map", "dump", "pinned", `${dir}/pcpu`) as { key: string[]; values: { cpu: number; value: string[] }[] }[];
    const e1 = dump.find((e) => hexBytes(e.key)[0] === 1)!;
    expect(e1.values.map((v) => hexBytes(v.value))).toEqual(values.map((v) => le(BigInt(v), 4)));
  });

  it("opens and reads a map that bpftool created, pinned and filled", () => {
    mkdirSync(dir);
    const path = `${dir}/from_bpftool`;
    execFileSync("bpftool", ["map", "create", path, "type", "hash", "key", "4", "value", "8", "entries", "8", "name", "bt_made"]);
    for (const [k, v] of [[7, 70n], [8, 0xfedcba9876543210n]] as const) {
      execFileSync("bpftool", ["map", "update", "pinned", path, "key", ...le(BigInt(k), 4).map(String), "value", ...le(v, 8).map(String)]);
    }
    using m = BpfMap.open(path, { key: u32, value: u64 });
    expect(m.name).toBe("bt_made");
    expect(m.typeName).toBe("hash");
    expect(new Map(m.entries())).toEqual(new Map([[7, 70n], [8, 0xfedcba9876543210n]]));
    m.set(9, 90n);
    const dump = bpftool("map", "dump", "pinned", path) as unknown[];
    expect(dump).toHaveLength(3);
  });

  it("agrees with bpftool on the name of every map type it can show", () => {
    const types: MapTypeName[] = ["hash", "array", "percpu_hash", "percpu_array", "lru_hash", "lru_percpu_hash", "queue", "stack", "ringbuf", "bloom_filter", "devmap", "cpumap", "sockmap"];
    for (const type of types) {
      const keyless = type === "queue" || type === "stack" || type === "ringbuf" || type === "bloom_filter";
      using m = BpfMap.create({
        type,
        keySize: keyless ? 0 : 4,
        valueSize: type === "ringbuf" ? 0 : type === "sockmap" ? 8 : 4,
        maxEntries: type === "ringbuf" ? 4096 : type === "cpumap" ? possibleCpus() : 4,
      });
      const show = bpftool("map", "show", "id", String(m.id)) as { type: string };
      expect(show.type).toBe(type);
      expect(m.info().type).toBe(MAP_TYPES[type]);
    }
  });
});
