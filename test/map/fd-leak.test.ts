import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { u32, u64 } from "../../src/codec.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { MapFlags } from "../../src/spec/map-spec.js";
import { describeKernel, gc, isFdOpen, openFdCount } from "../helpers/kernel.js";

describeKernel("BpfMap fd ownership", () => {
  it("leaves /proc/self/fd as it was after 10,000 create/use/close cycles", () => {
    const spec = { name: "leak_check", type: "hash", key: u32, value: u64, maxEntries: 4 } as const;
    const before = openFdCount();
    for (let i = 0; i < 10_000; i++) {
      const m = BpfMap.create(spec);
      m.set(1, BigInt(i));
      if (i % 100 === 0) {
        expect([...m.entries()]).toEqual([[1, BigInt(i)]]);
        m.clone().close();
      }
      m.close();
    }
    expect(openFdCount()).toBe(before);
  }, 120_000);

  it("closes the fds of failed creates, failed opens and inner map templates", () => {
    const before = openFdCount();
    for (let i = 0; i < 200; i++) {
      expect(() => BpfMap.create({ type: "hash", keySize: 0, valueSize: 4, maxEntries: 1 })).toThrow();
      expect(() => BpfMap.fromId(0x7ffffff0)).toThrow();
      // An inner-map template is created and closed during create.
      BpfMap.create({ type: "array_of_maps", keySize: 4, valueSize: 4, maxEntries: 1, innerMap: { type: "array", keySize: 4, valueSize: 4, maxEntries: 1 } }).close();
      // Codec size mismatch after the kernel opened the map: the fd is closed, not leaked.
      using m = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 1 });
      expect(() => BpfMap.fromId(m.id, { key: u64 })).toThrow(RangeError);
    }
    expect(openFdCount()).toBe(before);
  });

  it("closes a dropped BpfMap in the finalizer", async () => {
    let fd = -1;
    (() => {
      fd = BpfMap.create({ type: "array", key: u32, value: u32, maxEntries: 1 }).fd;
    })();
    expect(isFdOpen(fd)).toBe(true);
    for (let i = 0; i < 20 && isFdOpen(fd); i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(isFdOpen(fd)).toBe(false);
  });

  it("unmaps an mmap view dropped without close() once it is collected", async () => {
    using m = BpfMap.create({ type: "array", key: u32, value: u64, maxEntries: 512, flags: MapFlags.MMAPABLE });
    const before = bpfMapMappings();
    (() => {
      const view = m.mmap();
      view.set(3, 7n);
      expect(m.get(3)).toBe(7n);
    })();
    expect(bpfMapMappings()).toBe(before + 1);
    for (let i = 0; i < 20 && bpfMapMappings() !== before; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(bpfMapMappings()).toBe(before);
  });
});

/** Mappings of BPF maps in this process (lines of /proc/self/maps naming anon_inode:bpf-map). */
function bpfMapMappings(): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes("bpf-map")).length;
}
