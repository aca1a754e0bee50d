import { expect, it } from "vitest";
import { bytes, u32, u64 } from "../../src/codec.js";
import { isBpfError } from "../../src/errors.js";
import { BpfMap, type MapBatchCursor } from "../../src/map/bpf-map.js";
import { possibleCpus } from "../../src/map/possible-cpus.js";
import { describeKernel } from "../helpers/kernel.js";

describeKernel("BpfMap iteration and batches", () => {
  it("iterates every entry of a large hash map exactly once (batched)", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u32, maxEntries: 20_000 });
    const keys = Array.from({ length: 10_000 }, (_, i) => i * 7 + 3);
    m.updateBatch(keys, keys.map((k) => k ^ 0x5555));
    const seen = new Map<number, number>();
    for (const [k, v] of m) {
      expect(seen.has(k)).toBe(false);
      seen.set(k, v);
    }
    expect(seen.size).toBe(keys.length);
    for (const k of keys) expect(seen.get(k)).toBe(k ^ 0x5555);
    expect([...m.keys()].sort((a, b) => a - b)).toEqual(keys);
    expect([...m.values()].length).toBe(keys.length);
  });

  it("iterates per-CPU maps and arrays", () => {
    const cpus = possibleCpus();
    using m = BpfMap.create({ type: "percpu_hash", key: u32, value: u64, maxEntries: 3000 });
    for (let i = 0; i < 2500; i++) m.set(i, Array.from({ length: cpus }, (_, c) => BigInt(i * 10 + c)));
    let n = 0;
    for (const [k, v] of m.entries()) {
      expect(v).toEqual(Array.from({ length: cpus }, (_, c) => BigInt(k * 10 + c)));
      n++;
    }
    expect(n).toBe(2500);
    using a = BpfMap.create({ type: "array", key: u32, value: bytes(3), maxEntries: 5000 });
    a.set(4999, new Uint8Array([1, 2, 3]));
    const all = [...a.entries()];
    expect(all.length).toBe(5000);
    expect(all[4999]).toEqual([4999, new Uint8Array([1, 2, 3])]);
  });

  it("falls back to next-key + lookup for types without batch ops (devmap_hash)", () => {
    using m = BpfMap.create({ type: "devmap_hash", key: u32, value: u32, maxEntries: 64 });
    for (let i = 0; i < 40; i++) m.set(1000 + i, 1);
    const got = [...m.entries()];
    expect(got.length).toBe(40);
    expect(new Set(got.map(([k]) => k))).toEqual(new Set(Array.from({ length: 40 }, (_, i) => 1000 + i)));
    expect(got.every(([, v]) => v === 1)).toBe(true);
    expect([...m.keys()].length).toBe(40);
  });

  it("iterates maps of large values in several smaller batches", () => {
    using m = BpfMap.create({ type: "array", key: u32, value: bytes(65536), maxEntries: 200 });
    const v = new Uint8Array(65536).fill(7);
    m.set(150, v);
    let n = 0;
    for (const [k, val] of m) {
      expect(k).toBe(n);
      expect(val[0]).toBe(k === 150 ? 7 : 0);
      n++;
    }
    expect(n).toBe(200);
  });

  it("reads an empty map as empty", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u32, maxEntries: 10 });
    expect([...m]).toEqual([]);
    const r = m.lookupBatch();
    expect(r).toEqual({ keys: [], values: [], next: undefined });
  });

  it("lookupBatch walks the map in chunks with a cursor", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: 5000 });
    const n = 3333;
    expect(m.updateBatch(Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => BigInt(i) * 2n))).toBe(n);
    const seen = new Set<number>();
    let cursor: MapBatchCursor | undefined;
    let calls = 0;
    do {
      const r = m.lookupBatch({ cursor, count: 500 });
      expect(r.keys.length).toBeLessThanOrEqual(500);
      r.keys.forEach((k, i) => {
        expect(r.values[i]).toBe(BigInt(k) * 2n);
        seen.add(k);
      });
      cursor = r.next;
      calls++;
    } while (cursor);
    expect(seen.size).toBe(n);
    expect(calls).toBeGreaterThanOrEqual(Math.ceil(n / 500));
    // Cursors are immutable: the same cursor gives the same batch again.
    const first = m.lookupBatch({ count: 100 });
    const a = m.lookupBatch({ cursor: first.next, count: 100 });
    m.lookupBatch({ cursor: a.next, count: 100 });
    const b = m.lookupBatch({ cursor: first.next, count: 100 });
    expect(b.keys).toEqual(a.keys);
  });

  it("lookupBatchRaw gives the kernel's bytes in place, with the same cursors", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: 4000 });
    const n = 2500;
    m.updateBatch(Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => BigInt(i) << 20n));
    const seen = new Map<number, bigint>();
    let cursor: MapBatchCursor | undefined;
    do {
      const r = m.lookupBatchRaw({ cursor, count: 700 });
      expect(r.valueStride).toBe(8);
      expect(r.keys.length).toBe(r.count * 4);
      const kv = new DataView(r.keys.buffer, r.keys.byteOffset, r.keys.length);
      const vv = new DataView(r.values.buffer, r.values.byteOffset, r.values.length);
      for (let i = 0; i < r.count; i++) seen.set(kv.getUint32(i * 4, true), vv.getBigUint64(i * 8, true));
      cursor = r.next;
    } while (cursor);
    expect(seen.size).toBe(n);
    for (const [k, v] of seen) expect(v).toBe(BigInt(k) << 20n);
  });

  it("lookupAndDeleteBatch empties the map and returns what it removed", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u32, maxEntries: 100 });
    m.updateBatch([1, 2, 3, 4, 5], [10, 20, 30, 40, 50]);
    const got = new Map<number, number>();
    let cursor: MapBatchCursor | undefined;
    do {
      const r = m.lookupAndDeleteBatch({ cursor, count: 2 });
      r.keys.forEach((k, i) => got.set(k, r.values[i]!));
      cursor = r.next;
    } while (cursor);
    expect(got).toEqual(new Map([[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]]));
    expect([...m.keys()]).toEqual([]);
  });

  it("updateBatch creates or replaces; deleteBatch deletes and reports a missing key", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u32, maxEntries: 3 });
    expect(m.updateBatch([1, 2], [1, 2])).toBe(2);
    expect(m.updateBatch([2, 3], [20, 30])).toBe(2);
    expect(new Map(m.entries())).toEqual(new Map([[1, 1], [2, 20], [3, 30]]));
    expect(() => m.updateBatch([1], [1], { mode: "noexist" } as never)).toThrow(/no "noexist"\/"exist" for batches/);
    let err: unknown;
    try {
      m.updateBatch([1, 4], [5, 4]); // 1 is replaced, 4 does not fit
    } catch (e) {
      err = e;
    }
    expect(isBpfError(err) && err.code).toBe("E2BIG");
    expect((err as Error).message).toContain("update batch (1 of 2 set)");
    expect(m.get(1)).toBe(5);
    expect(m.deleteBatch([1, 2])).toBe(2);
    expect(() => m.deleteBatch([3, 99])).toThrow(/ENOENT from BPF_MAP_DELETE_BATCH/);
    expect(m.has(3)).toBe(false);
  });

  it("checks batch input before the syscall", () => {
    using m = BpfMap.create({ type: "hash", key: u32, value: u32, maxEntries: 10 });
    // An array: a batch of one from a hash fails with ENOSPC when two keys share a bucket (1 in 16 here).
    using other = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 10 });
    const r = other.lookupBatch({ count: 1 });
    expect(r.next).toBeDefined();
    expect(() => m.lookupBatch({ cursor: r.next })).toThrow(/cursor belongs to another map/);
    expect(() => m.updateBatch([1, 2], [1])).toThrow(RangeError);
    expect(() => m.updateBatch([1, -2], [1, 2])).toThrow(RangeError);
    expect(m.has(1)).toBe(false); // nothing was written
    expect(() => m.lookupBatch({ count: 0 })).toThrow(RangeError);
    expect(() => m.lookupBatch({ size: 2 } as never)).toThrow(TypeError);
    expect(m.updateBatch([], [])).toBe(0);
  });

  it("refuses batch ops where the kernel has none, with the kernel's error and what to use instead", () => {
    using d = BpfMap.create({ type: "devmap", key: u32, value: u32, maxEntries: 4 });
    let err: unknown;
    try {
      d.lookupBatch();
    } catch (e) {
      err = e;
    }
    expect(isBpfError(err) && err.code).toBe("ENOTSUPP");
    expect((err as Error).message).toContain("devmap maps have no batch operations");
  });
});
