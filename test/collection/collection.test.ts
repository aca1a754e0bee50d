import { openSync, closeSync, readFileSync, rmSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";
import { afterEach, expect } from "vitest";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { kernelVersionCode } from "../../src/elf/kconfig.js";
import { isNotSupportedError, isVerifierError, isTsbpfError } from "../../src/errors.js";
import { attachTracepoint } from "../../src/link/tracepoint.js";
import { attachTpBtf } from "../../src/link/raw-tracepoint.js";
import { execFileSync } from "node:child_process";
import { BpfMap } from "../../src/map/bpf-map.js";
import { describeKernel, itKernel, openFdCount, uniqueName } from "../helpers/kernel.js";
import { machineRefusalReason, refusalCode } from "../helpers/probes.js";

const obj = (name: string) => join(__dirname, "../../bpf", `${name}.o`);
const spec = (name: string) => CollectionSpec.fromFile(obj(name));
const packet = (n: number) => new Uint8Array(n).fill(0xab);
const u32key = (n: number) => {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, n, true);
  return k;
};
const u64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);

const XDP_ABORTED = 0;
const XDP_PASS = 2;

const pins: string[] = [];
afterEach(() => {
  for (const p of pins.splice(0)) rmSync(p, { recursive: true, force: true });
});

describeKernel("Collection.load runs what clang wrote", () => {
  itKernel("global data: .rodata set before load, .bss/.data read and written after", () => {
    const s = spec("global_data");
    s.variables.multiplier.value = 3;
    expect(() => (s.variables.multiplier.value = 2 ** 40)).toThrow(RangeError);
    using coll = Collection.load(s);
    const prog = coll.programs.count_packets;
    expect(prog.run({ data: packet(64) }).retval).toBe(XDP_PASS);
    expect(prog.run({ data: packet(64) }).retval).toBe(XDP_PASS);
    expect(coll.variables.packets.value).toBe(2n);
    expect(coll.variables.bytes_seen.value).toBe(2n * 64n * 3n);
    expect(coll.variables.last_len.value).toBe(64);
    // static variable starts at 3 and is incremented after each use: 100 + 3 + 4.
    expect(coll.variables.custom_counter.value).toBe(107);
    expect(coll.variables.magic.value).toBe(0x1122334455667788n);
    coll.variables.packets.value = 100n;
    prog.run({ data: packet(14) });
    expect(coll.variables.packets.value).toBe(101n);
    expect(() => (coll.variables.multiplier.value = 5)).toThrow(/read-only/);
    // .rodata is frozen and read-only for programs.
    const info = coll.maps[".rodata"].info();
    expect(info.flags & 0x80).toBe(0x80);
    expect(coll.maps[".rodata"].name).toBe("global_d.rodata");
  });

  itKernel("bpf2bpf calls: static and global subprograms shared by two programs", () => {
    using coll = Collection.load(spec("subprograms"));
    // Keys and values are typed from the map's BTF: __u32 → number, __u64 → bigint.
    const results = coll.maps.results as BpfMap<number, bigint>;
    expect(coll.programs.calc_xdp.run({ data: packet(14) }).retval).toBe(XDP_PASS);
    expect(results.get(0)).toBe(14n * 14n + 4n);
    expect(results.get(1)).toBe(24n);
    // A socket filter's skb->len excludes the 14-byte Ethernet header of the test packet.
    coll.programs.calc_socket.run({ data: packet(20) });
    expect(results.get(2)).toBe(36n);
  });

  itKernel("XDP with bpf_loop/for_each callbacks and tail calls through an initialised prog array", () => {
    using coll = Collection.load(spec("xdp_tail"));
    expect(coll.programs.xdp_entry.run({ data: packet(64) }).retval).toBe(XDP_PASS);
    const stats = coll.maps.stats as BpfMap<number, bigint>;
    const slot = (i: number) => stats.get(i);
    expect([slot(0), slot(1), slot(2), slot(3)]).toEqual([45n, 1n, 1n, 47n]);
  });

  itKernel("loading a subset leaves the prog array slot of a missing program empty", () => {
    using coll = Collection.load(spec("xdp_tail"), { programs: ["xdp_entry", "xdp_stage2"] });
    expect(Object.keys(coll.programs).sort()).toEqual(["xdp_entry", "xdp_stage2"]);
    // Slot 1 (xdp_stage1) is empty: the tail call fails and the entry returns XDP_ABORTED.
    expect(coll.programs.xdp_entry.run({ data: packet(64) }).retval).toBe(XDP_ABORTED);
  });

  itKernel("maps of maps with inner definitions and values", () => {
    using coll = Collection.load(spec("map_in_map"));
    expect(coll.programs.read_inner.run({ data: packet(32) }).retval).toBe(XDP_PASS);
    expect(coll.maps.inner_b.get(0)).toBe(1);
    expect(coll.maps.inner_a.get(0)).toBe(0);
    expect(coll.maps.outer_array.info().type).toBe(12);
  });

  itKernel("legacy maps section", () => {
    using coll = Collection.load(spec("legacy_maps"));
    coll.programs.legacy_prog.run({ data: packet(40) });
    expect(u64(coll.maps.legacy_counts.get(u32key(0)) as Uint8Array)).toBe(1n);
    expect(coll.maps.legacy_hash.info().flags).toBe(1);
  });

  itKernel("iproute2's bpf_elf_map layout, with PIN_GLOBAL_NS pinned by name", () => {
    const dir = `/sys/fs/bpf/${uniqueName("tsbpftc")}`;
    mkdirSync(dir);
    pins.push(dir);
    using coll = Collection.load(spec("iproute2_maps"), { pinPath: dir });
    expect(coll.programs.tc_count.run({ data: packet(64) }).retval).toBe(0);
    expect(u64(coll.maps.tc_counts.get(u32key(1)) as Uint8Array)).toBe(1n);
    expect(existsSync(join(dir, "tc_shared"))).toBe(true);
    expect(existsSync(join(dir, "tc_counts"))).toBe(false);
  });

  itKernel(".kconfig externs get the running kernel's values, weak ones 0", () => {
    using coll = Collection.load(spec("kconfig"));
    coll.programs.read_kconfig.run({ data: packet(16) });
    const config = gunzipSync(readFileSync("/proc/config.gz")).toString();
    const hz = Number(/^CONFIG_HZ=(\d+)$/m.exec(config)![1]);
    expect(coll.variables.seen_version.value).toBe(BigInt(kernelVersionCode(release())));
    expect(coll.variables.seen_hz.value).toBe(BigInt(hz));
    expect(coll.variables.seen_flags.value).toBe(7n);
  });

  itKernel("a log2 histogram in a hash map", () => {
    using coll = Collection.load(spec("histogram"));
    const prog = coll.programs.size_histogram;
    for (const n of [64, 64, 100, 1000]) prog.run({ data: packet(n) });
    // struct hist_key decodes to an object by field name.
    const hist = coll.maps.hist as BpfMap<{ bucket: number; proto: number }, bigint>;
    const got = [...hist.entries()].sort((a, b) => a[0].bucket - b[0].bucket);
    expect(got).toEqual([
      [{ bucket: 6, proto: 0 }, 3n],
      [{ bucket: 9, proto: 0 }, 1n],
    ]);
  });

  itKernel("opensnoop-like tracer sees this process open a file", () => {
    const s = spec("opensnoop");
    s.variables.target_tgid.value = process.pid;
    using coll = Collection.load(s);
    using _link = attachTracepoint(coll.programs.trace_openat, { category: "syscalls", name: "sys_enter_openat" });
    const path = `/tmp/${uniqueName("opensnoop")}`;
    for (let i = 0; i < 3; i++) closeSync(openSync(path, "a"));
    rmSync(path, { force: true });
    const opens = coll.maps.opens as BpfMap<number, { count: bigint; pid: number; flags: number; filename: Uint8Array }>;
    const ev = opens.get(process.pid)!;
    expect(ev).toBeDefined();
    expect(ev.count).toBeGreaterThanOrEqual(3n);
    expect(ev.pid).toBe(process.pid);
    expect(Buffer.from(ev.filename).toString("utf8").replace(/\0.*$/s, "")).toBe(path);
  });

  itKernel("pinning by name reuses the pin; `?` programs load only on request", () => {
    const dir = `/sys/fs/bpf/${uniqueName("tsbpfpin")}`;
    mkdirSync(dir);
    pins.push(dir);
    const s = spec("pinning");
    expect(s.programs.not_autoloaded.autoload).toBe(false);
    let id: number;
    {
      using coll = Collection.load(s, { pinPath: dir });
      expect(Object.keys(coll.programs)).toEqual(["use_maps"]);
      expect(existsSync(join(dir, "pinned_hash"))).toBe(true);
      id = coll.maps.pinned_hash.id;
      coll.maps.pinned_hash.set(1, 42);
    }
    using again = Collection.load(s, { pinPath: dir, programs: ["use_maps", "not_autoloaded"] });
    expect(again.maps.pinned_hash.id).toBe(id);
    expect(again.maps.pinned_hash.get(1)).toBe(42);
    expect(again.programs.not_autoloaded.run({ data: packet(20) }).retval).toBe(1);
  });

  itKernel("a spec edited before load: a map resized, a pin renamed", () => {
    const dir = `/sys/fs/bpf/${uniqueName("tsbpfren")}`;
    mkdirSync(dir);
    pins.push(dir);
    const s = spec("pinning");
    s.maps.pinned_hash.name = "renamed_hash";
    s.maps.pinned_hash.maxEntries = 77;
    s.maps.sized_lru.maxEntries = 512;
    using coll = Collection.load(s, { pinPath: dir });
    expect(existsSync(join(dir, "renamed_hash"))).toBe(true);
    expect(existsSync(join(dir, "pinned_hash"))).toBe(false);
    expect(coll.maps.pinned_hash.info().maxEntries).toBe(77);
    expect(coll.maps.sized_lru.maxEntries).toBe(512);
  });

  itKernel("maps passed in are used and not closed", () => {
    using results = BpfMap.create({ name: "given", type: "array", keySize: 4, valueSize: 8, maxEntries: 4 });
    {
      using coll = Collection.load(spec("subprograms"), { maps: { results } });
      coll.programs.calc_xdp.run({ data: packet(14) });
      expect(coll.maps.results).toBe(results);
    }
    expect(results.closed).toBe(false);
    expect(u64(results.get(u32key(1)) as Uint8Array)).toBe(24n);
  });

  itKernel("per-program log level keeps the verifier log", () => {
    using coll = Collection.load(spec("subprograms"), { programOptions: { calc_socket: { logLevel: 2 } } });
    expect(coll.programs.calc_socket.verifierLog).toMatch(/processed \d+ insns/);
    expect(coll.programs.calc_xdp.verifierLog).toBeUndefined();
  });

  itKernel("a failure midway closes everything and names the program", () => {
    const s = spec("subprograms");
    // calc_socket reads far outside its context: the verifier refuses it.
    s.programs.calc_socket.instructions = [
      { opcode: 0x79, dst: 0, src: 1, offset: 30000, imm: 0 },
      { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 },
    ];
    const before = openFdCount();
    let err: unknown;
    try {
      Collection.load(s);
    } catch (e) {
      err = e;
    }
    expect(isVerifierError(err), String(err)).toBe(true);
    expect((err as Error).message).toContain('program "calc_socket"');
    expect(openFdCount()).toBe(before);
  });

  itKernel("a failing map closes what was made and names the map", () => {
    const s = spec("xdp_tail");
    s.maps.jump_table.maxEntries = 0; // the kernel refuses max_entries 0
    const before = openFdCount();
    expect(() => Collection.load(s)).toThrow(/map "jump_table"/);
    expect(openFdCount()).toBe(before);
  });

  itKernel("options are checked before any syscall", () => {
    const s = spec("subprograms");
    expect(() => Collection.load(s, { bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
    expect(() => Collection.load(s, { programs: ["nope"] })).toThrow(/no program named "nope"/);
    expect(() => Collection.load(s, { maps: { nope: {} as never } })).toThrow(/no map "nope"/);
  });

  itKernel("BTF-based programs get their attach target from the kernel's BTF (tp_btf, iter; fentry is refused here)", () => {
    using coll = Collection.load(spec("tracing"));
    expect(Object.keys(coll.programs).sort()).toEqual(["dump_task", "on_exec"]);
    {
      using _l = attachTpBtf(coll.programs.on_exec);
      execFileSync("/bin/true");
      execFileSync("/bin/true");
    }
    expect(coll.variables.exec_count.value as bigint).toBeGreaterThanOrEqual(2n);
    let err: unknown;
    try {
      Collection.load(spec("tracing"), { programs: ["on_unlink"] });
    } catch (e) {
      err = e;
    }
    // The target resolved (do_unlinkat exists), then this machine's sandbox refuses trampolines.
    expect((err as { code?: string }).code, String(err)).toBe(refusalCode("trampolines"));
    expect(String(err)).toContain('program "on_unlink"');
    const s = spec("tracing");
    s.programs.dump_task.sectionInfo = { ...s.programs.dump_task.sectionInfo!, targetText: "no_such_iterator" };
    expect(() => Collection.load(s)).toThrow(/attach target func "bpf_iter_no_such_iterator" is not in the kernel's BTF/);
  });

  itKernel("objects for the other byte order are parsed but refused for loading", () => {
    const be = CollectionSpec.fromFile(join(__dirname, "../elf/fixtures/global_data.bpfeb.o"));
    expect(be.byteOrder).toBe("big");
    expect(Object.keys(be.programs)).toEqual(["count_packets"]);
    let err: unknown;
    try {
      Collection.load(be);
    } catch (e) {
      err = e;
    }
    expect(isNotSupportedError(err)).toBe(true);
    expect(isTsbpfError(err)).toBe(true);
  });
});
