import { existsSync, mkdirSync, rmdirSync, rmSync } from "node:fs";
import { exit, instructions, mov64, R0 } from "../../src/asm/builder.js";
import { Program } from "../../src/program/program.js";
import { Fd } from "../../src/sys/fd.js";
import { SYS, syscall3 } from "../../src/sys/libc.js";
import { expect, it } from "vitest";
import { array, bytes, struct, u16, u32, u64, u8 } from "../../src/codec.js";
import { BpfError, ClosedError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { MapFlags } from "../../src/spec/map-spec.js";
import { possibleCpus } from "../../src/map/possible-cpus.js";
import { describeKernel, uniqueName } from "../helpers/kernel.js";
import { bpfErrorOf } from "../helpers/errors.js";

describeKernel("BpfMap: elements", () => {
  it("sets, gets, checks and deletes typed elements of a hash map", () => {
    using m = BpfMap.create({ name: "elems", type: "hash", key: u32, value: u64, maxEntries: 8 });
    expect(m.get(1)).toBeUndefined();
    expect(m.has(1)).toBe(false);
    m.set(1, 100n);
    m.set(2, 0xffffffffffffffffn);
    expect(m.get(1)).toBe(100n);
    expect(m.get(2)).toBe(0xffffffffffffffffn);
    expect(m.has(1)).toBe(true);
    expect(m.delete(1)).toBe(true);
    expect(m.delete(1)).toBe(false);
    expect(m.get(1)).toBeUndefined();
    expect(m.lookupAndDelete(2)).toBe(0xffffffffffffffffn);
    expect(m.lookupAndDelete(2)).toBeUndefined();
  });

  it("honours noexist and exist, and reports the kernel's refusal with command and errno", () => {
    using m = BpfMap.create({ name: "modes", type: "hash", key: u32, value: u32, maxEntries: 2 });
    m.set(1, 1, "noexist");
    const exists = bpfErrorOf(() => m.set(1, 2, "noexist"));
    expect(exists.code).toBe("EEXIST");
    expect(exists.command).toBe("BPF_MAP_UPDATE_ELEM");
    expect(exists.message).toMatch(/^map "modes": update: EEXIST from BPF_MAP_UPDATE_ELEM/);
    expect(m.get(1)).toBe(1);
    m.set(1, 3, { mode: "exist" });
    expect(m.get(1)).toBe(3);
    expect(bpfErrorOf(() => m.set(7, 1, "exist")).code).toBe("ENOENT");
    m.set(2, 2);
    const full = bpfErrorOf(() => m.set(3, 3));
    expect(full.code).toBe("E2BIG");
    expect(full.message).toContain("the map is full (max_entries 2)");
  });

  it("passes BPF_F_LOCK, which the kernel refuses for a value without a bpf_spin_lock", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: 2 });
    m.set(1, 1n);
    expect(bpfErrorOf(() => m.set(1, 2n, { lock: true })).code).toBe("EINVAL");
    expect(bpfErrorOf(() => m.get(1, { lock: true })).code).toBe("EINVAL");
    expect(m.get(1)).toBe(1n);
  });

  it("rejects wrong keys and values before any syscall, with a TypeError or RangeError", () => {
    using m = BpfMap.create({ name: "typed", type: "hash", key: u32, value: u64, maxEntries: 2 });
    expect(() => m.set(-1, 1n)).toThrow(RangeError);
    expect(() => m.set(1.5, 1n)).toThrow(TypeError);
    expect(() => m.set(1, "x" as never)).toThrow(TypeError);
    expect(() => m.get("1" as never)).toThrow(TypeError);
    expect(() => m.set(1, 1n, "sometimes" as never)).toThrow(TypeError);
    expect(() => m.set(1, 1n, { mode: "any", unknown: 1 } as never)).toThrow(TypeError);
    expect(() => m.get(1, { locked: true } as never)).toThrow(TypeError);
    using raw = BpfMap.create({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 2 });
    expect(() => raw.set(new Uint8Array(3), new Uint8Array(8))).toThrow(/expected 4 bytes, got 3/);
    expect(() => raw.set(new Uint8Array(4), new Uint8Array(9))).toThrow(RangeError);
    expect([...raw.keys()]).toEqual([]);
  });

  it("uses raw bytes when no codec is given", () => {
    using m = BpfMap.create({ type: "hash", keySize: 3, valueSize: 5, maxEntries: 4 });
    m.set(new Uint8Array([1, 2, 3]), new Uint8Array([9, 8, 7, 6, 5]));
    expect(m.get(new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([9, 8, 7, 6, 5]));
  });

  it("encodes struct keys and array values", () => {
    const key = struct([{ name: "port", codec: u16 }, { name: "proto", codec: u8 }]);
    using m = BpfMap.create({ type: "hash", key, value: array(u32, 3), maxEntries: 4 });
    expect(m.keySize).toBe(4);
    m.set({ port: 443, proto: 6 }, [1, 2, 3]);
    expect(m.get({ port: 443, proto: 6 })).toEqual([1, 2, 3]);
    expect(m.get({ port: 443, proto: 17 })).toBeUndefined();
    expect([...m.entries()]).toEqual([[{ port: 443, proto: 6 }, [1, 2, 3]]]);
  });

  it("says an array element cannot be deleted and an index past the end is out of range", () => {
    using m = BpfMap.create({ name: "arr", type: "array", key: u32, value: u32, maxEntries: 4 });
    expect(m.get(3)).toBe(0);
    expect(m.get(4)).toBeUndefined();
    expect(bpfErrorOf(() => m.set(4, 1)).code).toBe("E2BIG");
    const del = bpfErrorOf(() => m.delete(0));
    expect(del.code).toBe("EINVAL");
    expect(del.message).toContain("elements of array-like maps cannot be deleted");
  });

  it("gives per-CPU maps one value per possible CPU", () => {
    const cpus = possibleCpus();
    using m = BpfMap.create({ type: "percpu_array", key: u32, value: u32, maxEntries: 2 });
    expect(m.cpus).toBe(cpus);
    const values = Array.from({ length: cpus }, (_, i) => i + 10);
    m.set(1, values);
    expect(m.get(1)).toEqual(values);
    expect(m.get(0)).toEqual(new Array(cpus).fill(0));
    expect(() => m.set(1, [1])).toThrow(RangeError);
    using h = BpfMap.create({ type: "percpu_hash", key: u32, value: bytes(3), maxEntries: 2 });
    const v = Array.from({ length: cpus }, (_, i) => new Uint8Array([i, i + 1, i + 2]));
    h.set(5, v);
    expect(h.get(5)).toEqual(v);
    expect([...h.entries()]).toEqual([[5, v]]);
    expect(h.lookupAndDelete(5)).toEqual(v);
    expect(h.has(5)).toBe(false);
  });
});

describeKernel("BpfMap: object", () => {
  it("freezes: userspace writes fail with EPERM, reads still work", () => {
    using m = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 1 });
    m.set(0, 7);
    expect(m.info().frozen).toBe(false);
    m.freeze();
    expect(m.info().frozen).toBe(true);
    expect(bpfErrorOf(() => m.set(0, 8)).code).toBe("EPERM");
    expect(m.get(0)).toBe(7);
  });

  it("reports info from the kernel", () => {
    using m = BpfMap.create({ name: "infomap", type: "lru_hash", key: u32, value: u64, maxEntries: 33, flags: MapFlags.NO_COMMON_LRU });
    const info = m.info();
    expect(info).toMatchObject({
      type: 9, typeName: "lru_hash", keySize: 4, valueSize: 8, flags: MapFlags.NO_COMMON_LRU, name: "infomap",
    });
    // Per-CPU LRU lists: the kernel rounds max_entries up to a multiple of the CPU count.
    expect(info.maxEntries).toBe(Math.ceil(33 / possibleCpus()) * possibleCpus());
    expect(m.maxEntries).toBe(info.maxEntries);
    expect(info.id).toBeGreaterThan(0);
    expect(m.id).toBe(info.id);
  });

  it("truncates long names to 15 characters as libbpf does, and refuses invalid characters", () => {
    using m = BpfMap.create({ name: "a_very_long_map_name_indeed", type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(m.info().name).toBe("a_very_long_map");
    expect(() => BpfMap.create({ name: "bad-name", type: "array", keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(/contains "-"/);
  });

  it("rejects bad specs before the syscall", () => {
    expect(() => BpfMap.create({ type: "hashmap" as never, keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(/unknown map type "hashmap"/);
    expect(() => BpfMap.create({ type: "hash", key: u32, keySize: 8, maxEntries: 1 })).toThrow(/key codec is 4 bytes but keySize is 8/);
    expect(() => BpfMap.create({ type: "hash", keySize: -1, maxEntries: 1 })).toThrow(TypeError);
    expect(() => BpfMap.create({ type: "hash", keySize: 4, maxEntries: 1, max_entries: 2 } as never)).toThrow(/unknown field "max_entries"/);
    expect(() => BpfMap.create({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 1 }, { pinpath: "/x" } as never)).toThrow(TypeError);
  });

  it("turns a kernel refusal at create into a BpfError naming the map and its parameters", () => {
    const e = bpfErrorOf(() => BpfMap.create({ name: "zero", type: "hash", keySize: 0, valueSize: 4, maxEntries: 1 }));
    expect(e.code).toBe("EINVAL");
    expect(e.message).toMatch(/^map "zero": create \(type hash, key 0 B, value 4 B, max_entries 1, flags 0x0\): EINVAL from BPF_MAP_CREATE/);
  });

  it("throws ClosedError after close, and close is idempotent", () => {
    const m = BpfMap.create({ name: "closing", type: "hash", key: u32, value: u32, maxEntries: 1 });
    m.close();
    m.close();
    expect(m.closed).toBe(true);
    expect(() => m.get(1)).toThrow(ClosedError);
    expect(() => m.set(1, 1)).toThrow(ClosedError);
    expect(() => m.delete(1)).toThrow(ClosedError);
    expect(() => m.fd).toThrow(ClosedError);
    expect(() => [...m.keys()]).toThrow(ClosedError);
    expect(() => m.info()).toThrow(ClosedError);
    expect(() => m.get(1)).toThrow('map "closing" is closed');
  });

  it("stops an iteration whose map was closed in between with ClosedError", () => {
    const m = BpfMap.create({ type: "hash", key: u32, value: u32, maxEntries: 8192 });
    for (let i = 0; i < 5000; i++) m.set(i, i);
    const it = m.keys();
    it.next();
    m.close();
    expect(() => {
      for (;;) if (it.next().done) break;
    }).toThrow(ClosedError);
  });

  it("unpins after close: a created map learns its id when pinned", () => {
    const dir = `/sys/fs/bpf/${uniqueName("tsbpf_unpin_closed")}`;
    mkdirSync(dir);
    try {
      const path = `${dir}/m`;
      const m = BpfMap.create({ name: "unpin_closed", type: "hash", key: u32, value: u32, maxEntries: 4 });
      let id: number;
      try {
        m.pin(path);
        using o = BpfMap.open(path);
        id = o.id;
      } finally {
        m.close();
      }
      expect(existsSync(path)).toBe(true);
      m.unpin(); // compares the pin's id with the map's, which it knew before close
      expect(existsSync(path)).toBe(false);
      expect(id).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pins, opens from the pin with codecs checked against the kernel's sizes, and unpins", () => {
    const dir = `/sys/fs/bpf/${uniqueName("tsbpf_map")}`;
    mkdirSync(dir);
    try {
      const path = `${dir}/pinned`;
      using m = BpfMap.create({ name: "pinned", type: "hash", key: u32, value: u32, maxEntries: 4 });
      m.set(1, 11);
      m.pin(path);
      expect(m.pinnedPath).toBe(path);
      expect(bpfErrorOf(() => m.pin(path)).code).toBe("EEXIST");
      {
        using o = BpfMap.open(path, { key: u32, value: u32 });
        expect(o.get(1)).toBe(11);
        expect(o.id).toBe(m.id);
        expect(o.name).toBe("pinned");
        o.set(2, 22);
      }
      expect(m.get(2)).toBe(22);
      expect(() => BpfMap.open(path, { key: u64 })).toThrow(/key codec is 8 bytes but the map's keys are 4/);
      {
        using ro = BpfMap.open(path, { key: u32, value: u32, access: "readonly" });
        expect(ro.get(1)).toBe(11);
        expect(bpfErrorOf(() => ro.set(1, 1)).code).toBe("EPERM");
      }
      m.unpin();
      expect(existsSync(path)).toBe(false);
      expect(bpfErrorOf(() => BpfMap.open(path)).code).toBe("ENOENT");
      expect(bpfErrorOf(() => m.pin(`${dir}/with.dot`)).message).toContain("bpffs refuses names that contain a dot");
    } finally {
      rmdirSync(dir);
    }
  });

  it("pins by name, and reuses a compatible pin but refuses an incompatible one", () => {
    const dir = `/sys/fs/bpf/${uniqueName("tsbpf_byname")}`;
    mkdirSync(dir);
    try {
      const spec = { name: "shared", type: "array", key: u32, value: u32, maxEntries: 2, pinning: "by_name" } as const;
      using a = BpfMap.create(spec, { pinPath: dir });
      expect(a.pinnedPath).toBe(`${dir}/shared`);
      a.set(1, 5);
      using b = BpfMap.create(spec, { pinPath: dir });
      expect(b.id).toBe(a.id);
      expect(b.pinnedPath).toBe(`${dir}/shared`);
      expect(b.get(1)).toBe(5);
      expect(() => BpfMap.create({ ...spec, maxEntries: 3 }, { pinPath: dir })).toThrow(/incompatible with the spec \(max entries 2 ≠ 3\)/);
      a.unpin();
    } finally {
      rmdirSync(dir);
    }
  });

  it("opens by id, and clone gives an independent fd to the same map", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u32, maxEntries: 4 });
    m.set(3, 4);
    using byId = BpfMap.fromId(m.id, { key: u32, value: u32 });
    expect(byId.get(3)).toBe(4);
    const c = m.clone();
    expect(c.fd).not.toBe(m.fd);
    c.close();
    expect(m.get(3)).toBe(4);
    expect(bpfErrorOf(() => BpfMap.fromId(0x7ffffff0)).code).toBe("ENOENT");
  });

  it("refuses to wrap an fd that is not a map, and closes it", () => {
    using prog = Program.load({ type: "xdp", instructions: instructions(mov64(R0, 2), exit()) });
    const dup = new Fd(syscall3(SYS.fcntl, prog.fd, 1030 /* F_DUPFD_CLOEXEC */, 3), "prog dup");
    expect(() => BpfMap.fromFd(dup)).toThrow(/is a BPF program, not a map/);
    expect(dup.closed).toBe(true);
    const dir = `/sys/fs/bpf/${uniqueName("tsbpf_notmap")}`;
    mkdirSync(dir);
    try {
      prog.pin(`${dir}/p`);
      expect(() => BpfMap.open(`${dir}/p`)).toThrow(TypeError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
