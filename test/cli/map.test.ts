/**
 * `tsbpf map` against the kernel, each answer compared with bpftool's on the same maps: info
 * fields, raw bytes, and values formatted through BTF; then the writes (update, delete, push,
 * pop, peek, freeze, pin) checked through the library and bpftool.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { possibleCpus } from "../../src/map/possible-cpus.js";
import { describeKernel, hasTool, itKernel, uniqueName } from "../helpers/kernel.js";
import { cli, ROOT } from "./run.js";

const bpftool = (...args: string[]): unknown => JSON.parse(execFileSync("bpftool", ["-j", ...args], { encoding: "utf8" }));
const json = async (...args: string[]): Promise<unknown> => {
  const r = await cli(...args, "--json");
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
};

describeKernel("tsbpf map", () => {
  let coll: Collection;
  let dir: string;
  beforeAll(() => {
    hasTool("bpftool", ["version"]);
    coll = Collection.load(CollectionSpec.fromFile(join(ROOT, "bpf/cli/formatted.o")));
    dir = `/sys/fs/bpf/${uniqueName("climap")}`;
    mkdirSync(dir);
  });
  afterAll(() => {
    coll?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const flows = () => coll.maps.flows;
  const put = (pid: number, comm: string, packets: bigint) => {
    const key = new Uint8Array(20);
    new DataView(key.buffer).setUint32(0, pid, true);
    key.set(Buffer.from(comm), 4);
    const value = new Uint8Array(40);
    const v = new DataView(value.buffer);
    v.setBigUint64(0, packets, true);
    v.setUint32(8, 7, true); // HALF_OPEN
    value[12] = 1; // seen
    v.setInt32(16, -5, true);
    value.set([0xde, 0xad, 0xbe, 0xef], 20);
    v.setUint32(24, 5 | (17 << 3), true); // kind 5, level 17
    v.setUint16(26, 80, true); // the bitfields take one byte at 24; the u16 pair follows
    v.setUint16(28, 443, true);
    v.setUint32(32, 0x01020304, true);
    using raw = BpfMap.fromId(flows().id);
    raw.set(key, value);
  };

  itKernel("list and show give bpftool's fields and values, by id, name and pin", async () => {
    const id = flows().id;
    const theirs = bpftool("map", "show", "id", String(id)) as Record<string, unknown>;
    const ours = (await json("map", "show", String(id))) as Record<string, unknown>;
    expect(Object.keys(ours).length).toBeGreaterThanOrEqual(7);
    for (const [k, v] of Object.entries(ours)) expect([k, theirs[k]]).toEqual([k, v]);
    expect(ours).toMatchObject({ id, type: "hash", name: "flows", bytes_key: 20, bytes_value: 40, max_entries: 16, bytes_memlock: theirs.bytes_memlock });
    expect(theirs.bytes_memlock).toBeGreaterThan(0);
    const listed = ((await json("map", "list")) as { id: number }[]).find((m) => m.id === id);
    expect(listed).toEqual(ours);
    expect(await json("map", "show", "id", String(id))).toEqual(ours);
    flows().pin(join(dir, "flows"));
    expect(await json("map", "show", "pinned", join(dir, "flows"))).toEqual(ours);
    expect(await json("map", "show", join(dir, "flows"))).toEqual(ours);
    const text = await cli("map", "show", String(id));
    expect(text.out).toBe(`${id}: hash  name flows  key 20B  value 40B  max_entries 16  btf_id ${theirs.btf_id}\n`);
  });

  itKernel("dump --json is bpftool's JSON: raw bytes and values formatted through BTF", async () => {
    put(42, "curl", 1234n);
    put(7, "nginx-worker-01", 2n ** 60n + 1n);
    const id = String(flows().id);
    const ours = (await json("map", "dump", id)) as { key: string[] }[];
    const theirs = bpftool("map", "dump", "id", id) as { key: string[] }[];
    const byKey = (rows: { key: string[] }[]) => [...rows].sort((a, b) => a.key.join().localeCompare(b.key.join()));
    expect(byKey(ours)).toEqual(byKey(theirs));
    expect(ours.find((r) => (r as unknown as { formatted: { key: { pid: number } } }).formatted.key.pid === 42)).toMatchObject({
      formatted: {
        key: { pid: 42, comm: "curl" },
        value: { packets: 1234, state: "HALF_OPEN", seen: true, delta: -5, mac: [222, 173, 190, 239], kind: "0x5", level: "0x11", port: { lo: 80, hi: 443 }, tag: { as_u32: 0x01020304, as_bytes: [4, 3, 2, 1] } },
      },
    });
    // u64 beyond 2^53 prints as a bare integer, exactly.
    const raw = (await cli("map", "dump", id, "-j")).out;
    expect(raw).toContain(`"packets":${2n ** 60n + 1n}`);
    // --hex: raw bytes only.
    const hex = (await json("map", "dump", id, "--hex")) as Record<string, unknown>[];
    expect(hex.every((r) => !("formatted" in r))).toBe(true);
  });

  itKernel("per-CPU values: one per possible CPU, as bpftool prints them", async () => {
    const pc = coll.maps.per_cpu;
    const cpus = possibleCpus();
    using raw = BpfMap.fromId<Uint8Array, Uint8Array[]>(pc.id);
    raw.set(new Uint8Array([1, 0, 0, 0]), Array.from({ length: cpus }, (_, i) => Uint8Array.from([i + 1, 0, 0, 0, 0, 0, 0, 0])));
    const id = String(pc.id);
    expect(await json("map", "dump", id)).toEqual(bpftool("map", "dump", "id", id));
    expect(await json("map", "lookup", id, "1")).toEqual(bpftool("map", "lookup", "id", id, "key", "1", "0", "0", "0"));
  });

  itKernel("lookup, update, getnext and delete take keys and values as dump prints them", async () => {
    const id = String(flows().id);
    const key = JSON.stringify({ pid: 99, comm: "sshd" });
    const value = JSON.stringify({ packets: 5, state: "OPEN", seen: false, delta: 3, mac: [1, 2, 3, 4], kind: "0x1", level: 2, port: { lo: 22, hi: 0 }, tag: { as_u32: 9 } });
    expect((await cli("map", "update", id, key, value)).code).toBe(0);
    const looked = (await json("map", "lookup", id, key)) as { key: string[]; formatted: { value: unknown } };
    expect(looked.formatted.value).toMatchObject({ packets: 5, state: "OPEN", seen: false, delta: 3, mac: [1, 2, 3, 4], kind: "0x1", level: "0x2", port: { lo: 22, hi: 0 }, tag: { as_u32: 9 } });
    expect(looked).toEqual(bpftool("map", "lookup", "id", id, "key", "hex", ...looked.key.map((b) => b.slice(2))));
    // --mode noexist refuses an existing key: exit 1, one line.
    const again = await cli("map", "update", id, key, value, "--mode", "noexist");
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/EEXIST from BPF_MAP_UPDATE_ELEM/);
    // getnext walks the keys bpftool walks.
    const first = (await json("map", "getnext", id)) as { next_key: string[] };
    const theirs = bpftool("map", "getnext", "id", id) as { next_key: string[] };
    expect(first.next_key).toEqual(theirs.next_key);
    // Unknown members are refused, naming the member.
    const bad = await cli("map", "update", id, key, JSON.stringify({ packetz: 1 }));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('has no member "packetz"');
    expect((await cli("map", "delete", id, key)).code).toBe(0);
    const gone = await cli("map", "lookup", id, key);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/no entry for this key/);
  });

  itKernel("--hex takes and prints raw bytes, for maps without BTF too", async () => {
    const id = String(coll.maps.per_cpu.id);
    const cpus = possibleCpus();
    expect((await cli("map", "update", id, "00000000", "0a00000000000000", "--hex")).code).toBe(0);
    const r = (await json("map", "lookup", id, "00 00 00 00", "--hex")) as { values: { cpu: number; value: string[] }[] };
    expect(r.values).toHaveLength(cpus);
    expect(r.values[0].value).toEqual(["0x0a", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00"]);
    const short = await cli("map", "lookup", id, "0000", "--hex");
    expect(short.code).toBe(2);
    expect(short.err).toContain("key is 2 bytes");
  });

  itKernel("push, peek and pop on a queue (no BTF: hex); freeze refuses later writes", async () => {
    const id = String(coll.maps.jobs.id);
    for (const v of ["01000000", "02 00 00 00"]) expect((await cli("map", "push", id, v)).code).toBe(0);
    expect(await json("map", "peek", id)).toEqual(bpftool("map", "peek", "id", id));
    expect(await json("map", "pop", id)).toEqual({ key: [], value: ["0x01", "0x00", "0x00", "0x00"] });
    expect((await cli("map", "pop", id)).out).toBe("value: 02 00 00 00\n");
    const empty = await cli("map", "pop", id);
    expect(empty.code).toBe(1);
    expect(empty.err).toMatch(/empty/);
    expect((await cli("map", "freeze", id)).code).toBe(0);
    expect((bpftool("map", "show", "id", id) as { frozen: number }).frozen).toBe(1);
    const refused = await cli("map", "push", id, "03000000");
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/EPERM/);
  });

  itKernel("--json: a write that prints nothing prints bpftool's `null`, so stdout is always a JSON document", async () => {
    const id = String(coll.maps.per_cpu.id);
    const ours = await cli("map", "update", id, "01000000", "0b00000000000000", "--hex", "--json");
    expect(ours).toEqual({ code: 0, out: "null\n", err: "" });
    expect(JSON.parse(ours.out)).toEqual(bpftool("map", "update", "id", id, "key", "1", "0", "0", "0", "value", "11", "0", "0", "0", "0", "0", "0", "0"));
    expect(await cli("map", "pin", id, join(dir, "null_json"), "--json")).toEqual({ code: 0, out: "null\n", err: "" });
    // without --json it stays silent; a failure prints no `null`
    expect(await cli("map", "update", id, "01000000", "0b00000000000000", "--hex")).toEqual({ code: 0, out: "", err: "" });
    expect((await cli("map", "update", id, "01000000", "0b00000000000000", "--hex", "--mode", "noexist", "--json")).out).toBe("");
  });

  itKernel("pin puts the map on bpffs", async () => {
    const path = join(dir, "q");
    expect((await cli("map", "pin", String(coll.maps.per_cpu.id), path)).code).toBe(0);
    expect(existsSync(path)).toBe(true);
    expect((bpftool("map", "show", "pinned", path) as { id: number }).id).toBe(coll.maps.per_cpu.id);
  });

  itKernel("event_pipe prints ring buffer records as they arrive, and stops at --count", async () => {
    const id = String(coll.maps.events.id);
    const run = cli("map", "event_pipe", id, "--count", "2", "--duration", "10");
    await new Promise((r) => setTimeout(r, 100));
    coll.programs.emit_event.run({ data: new Uint8Array(64) });
    coll.programs.emit_event.run({ data: new Uint8Array(64) });
    const r = await run;
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe("== index 0 (16 bytes)");
    expect(lines[1]).toMatch(/^88 77 66 55 44 33 22 11 0[0-9a-f] 00 00 00 00 00 00 00$/);
    const j = cli("map", "event_pipe", id, "--count", "1", "--json");
    await new Promise((res) => setTimeout(res, 100));
    coll.programs.emit_event.run({ data: new Uint8Array(64) });
    const rec = JSON.parse((await j).out) as { type: string; data: string[] };
    expect(rec.type).toBe("sample");
    expect(rec.data.slice(0, 8)).toEqual(["0x88", "0x77", "0x66", "0x55", "0x44", "0x33", "0x22", "0x11"]);
    const wrong = await cli("map", "event_pipe", String(coll.maps.jobs.id), "--count", "1");
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/reads ringbuf and perf_event_array maps/);
  });

  itKernel("a missing map is one line and exit 1; a name several maps share is refused", async () => {
    const missing = await cli("map", "show", "2147483000");
    expect(missing.code).toBe(1);
    expect(missing.err.trim()).toMatch(/^tsbpf map show: map id 2147483000: open: ENOENT from BPF_MAP_GET_FD_BY_ID/);
    expect((await json("map", "show", "name", "flows")) as { id: number }).toMatchObject({ id: flows().id });
  });
});
