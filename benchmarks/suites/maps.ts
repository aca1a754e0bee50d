/**
 * Map rows: single-element operations, batch lookup and full iteration, each beside the same
 * syscalls made by benchmarks/c/core.c (a persistent process: every loop continues where the
 * previous one stopped, on both sides).
 */
import { u32, u64 } from "../../src/codec.js";
import { BpfMap, type MapBatchCursor } from "../../src/map/bpf-map.js";
import type { BenchFixture, BenchSuite } from "../harness.js";

function hashMap(entries: number): BpfMap<number, bigint> {
  const map = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: entries });
  for (let k = 0; k < entries; k++) map.set(k, BigInt(k));
  return map;
}

function fixture(map: BpfMap<number, bigint>, run: (iterations: number) => number): BenchFixture {
  return { run, close: () => map.close() };
}

export const suite: BenchSuite = {
  name: "maps",
  rows: [
    {
      name: "array lookup",
      iterations: 2_000,
      target: 1.1,
      c: { binary: "core", case: "array_lookup", persistent: true },
      note: "the floor row (a bare koffi call, no codec) is itself ~1.12×: the rest is key encoding and the u64 → BigInt value",
      setup() {
        const map = BpfMap.create({ type: "array", key: u32, value: u64, maxEntries: 1 });
        return fixture(map, (n) => {
          for (let i = 0; i < n; i++) map.get(0);
          return n;
        });
      },
    },
    {
      name: "hash lookup (10k entries)",
      iterations: 2_000,
      target: 1.1,
      c: { binary: "core", case: "hash_lookup", args: [10_000], persistent: true },
      note: "as array lookup: the FFI floor plus the codecs",
      setup() {
        const map = hashMap(10_000);
        let key = 0;
        return fixture(map, (n) => {
          for (let i = 0; i < n; i++) {
            map.get(key);
            if (++key === 10_000) key = 0;
          }
          return n;
        });
      },
    },
    {
      name: "hash update (existing key)",
      iterations: 2_000,
      target: 1.1,
      c: { binary: "core", case: "hash_update", args: [10_000], persistent: true },
      note: "as array lookup: the FFI floor plus encoding key and value",
      setup() {
        const map = hashMap(10_000);
        let key = 0;
        return fixture(map, (n) => {
          for (let i = 0; i < n; i++) {
            map.set(key, 1n);
            if (++key === 10_000) key = 0;
          }
          return n;
        });
      },
    },
    {
      name: "batch lookup (100k entries, 1000 per call)",
      unit: "element",
      iterations: 10, // lookupBatch calls per round, restarting at the end of the map
      target: 1.05,
      c: { binary: "core", case: "batch_lookup", args: [100_000, 1000], persistent: true },
      note: "the raw-bytes floor row is ~1.01–1.03×: the rest is decoding 1000 keys and BigInt values into arrays per call",
      setup() {
        const map = hashMap(100_000);
        let cursor: MapBatchCursor | undefined;
        return fixture(map, (calls) => {
          let units = 0;
          for (let i = 0; i < calls; i++) {
            const batch = map.lookupBatch({ cursor, count: 1000 });
            units += batch.keys.length;
            cursor = batch.next;
          }
          return units;
        });
      },
    },
    {
      name: "full iteration (100k entries) vs C next-key + lookup",
      unit: "element",
      iterations: 20_000, // elements per round, continuing through the map and starting again
      target: 0.2,
      note: "tsbpf iterates with batch lookups; C makes the naive GET_NEXT_KEY + LOOKUP_ELEM pair per element",
      c: { binary: "core", case: "iterate_naive", args: [100_000], persistent: true },
      setup() {
        const map = hashMap(100_000);
        let it = map.entries();
        return fixture(map, (n) => {
          for (let i = 0; i < n; i++) {
            if (it.next().done) {
              it = map.entries();
              i--;
            }
          }
          return n;
        });
      },
    },
  ],
};
