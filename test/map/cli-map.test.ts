/** `tsbpf map list|show|dump`, run as a user runs it, checked against maps this test made. */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, expect, it } from "vitest";
import { u32, u64 } from "../../src/codec.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { possibleCpus } from "../../src/map/possible-cpus.js";
import { describeKernel, uniqueName } from "../helpers/kernel.js";

const ROOT = resolve(import.meta.dirname, "../..");

function tsbpf(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], { encoding: "utf8", cwd: ROOT });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describeKernel("tsbpf map", () => {
  it("lists a map this process made, and shows it by id and by pin", () => {
    using m = BpfMap.create({ name: "cli_list", type: "lru_hash", key: u32, value: u64, maxEntries: 16 });
    const list = tsbpf("map", "list", "--json");
    expect(list.code).toBe(0);
    const row = (JSON.parse(list.out) as { id: number }[]).find((r) => r.id === m.id);
    expect(row).toEqual({ id: m.id, type: "lru_hash", name: "cli_list", keySize: 4, valueSize: 8, maxEntries: 16, flags: 0 });
    const text = tsbpf("map", "list");
    expect(text.out).toContain(`${m.id}: lru_hash  name cli_list  key 4B  value 8B  max_entries 16`);
    dir = `/sys/fs/bpf/${uniqueName("tsbpf_cli")}`;
    mkdirSync(dir);
    m.pin(`${dir}/m`);
    expect(JSON.parse(tsbpf("map", "show", `${dir}/m`, "--json").out)).toEqual(row);
    expect(tsbpf("map", "show", String(m.id)).out.trim()).toBe(`${m.id}: lru_hash  name cli_list  key 4B  value 8B  max_entries 16`);
  });

  it("dumps entries as hex, per CPU for per-CPU maps", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u32, maxEntries: 4 });
    m.set(1, 0x0a0b0c0d);
    const dump = tsbpf("map", "dump", String(m.id));
    expect(dump.out).toBe("key: 01 00 00 00  value: 0d 0c 0b 0a\nFound 1 element\n");
    expect(JSON.parse(tsbpf("map", "dump", String(m.id), "--json").out)).toEqual([{ key: "01000000", value: "0d0c0b0a" }]);
    const cpus = possibleCpus();
    using p = BpfMap.create({ type: "percpu_array", key: u32, value: u32, maxEntries: 1 });
    p.set(0, Array.from({ length: cpus }, (_, i) => i + 1));
    const rows = JSON.parse(tsbpf("map", "dump", String(p.id), "--json").out) as { key: string; values: string[] }[];
    expect(rows).toEqual([{ key: "00000000", values: Array.from({ length: cpus }, (_, i) => `0${i + 1}000000`) }]);
  });

  it("fails with one line and a non-zero code for missing maps and bad usage", () => {
    const missing = tsbpf("map", "show", "2147483000");
    expect(missing.code).toBe(1);
    expect(missing.err.trim()).toMatch(/^tsbpf map: map id 2147483000: open: ENOENT from BPF_MAP_GET_FD_BY_ID/);
    expect(tsbpf("map", "frobnicate").err).toContain('unknown subcommand "frobnicate"');
    expect(tsbpf("map", "dump").err).toContain("missing map");
    expect(tsbpf("map", "list", "--yaml").err).toContain("unknown option --yaml");
  });
});
