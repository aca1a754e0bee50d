/**
 * PerfReader against the kernel: an XDP program (bpf/readers/readers.c: perf_output, run by
 * test run) sends numbered records with bpf_perf_event_output(BPF_F_CURRENT_CPU); the reader
 * must see exactly those records, in order, on the CPU that ran the program.
 */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { u32, u64 } from "../../src/codec.js";
import { isClosedError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { type PerfEvent, PerfReader } from "../../src/perf/reader.js";
import { onlineCpus } from "../../src/sys/perf-event.js";
import { describeKernel, gc, openFdCount } from "../helpers/kernel.js";
import { dropped, expectedRecord, loadProducers, onCpu, produce, sleep } from "../ringbuf/producers.js";

interface Got {
  type: "sample" | "lost";
  cpu: number;
  bytes?: Uint8Array;
  lost?: number;
}

function drainAll(reader: PerfReader): Got[] {
  const out: Got[] = [];
  reader.poll((r) => {
    out.push(r.type === "sample" ? { type: "sample", cpu: r.cpu, bytes: r.copy() } : { type: "lost", cpu: r.cpu, lost: r.lost });
  });
  return out;
}

const seqOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(0, true);
/** The kernel pads a raw sample so that its u32 size and payload end 8-byte aligned. */
const padded = (size: number): number => ((size + 4 + 7) & ~7) - 4;

describeKernel("PerfReader", () => {
  it("opens a ring per online CPU and reads samples in order with their contents", () => {
    using coll = loadProducers();
    using reader = new PerfReader(coll.maps.events);
    expect(reader.cpus).toEqual(onlineCpus());
    expect(reader.ringSize).toBe(8 * 4096);
    produce(coll, "perf_output", { count: 10, first: 50, size: 20 });
    const got = drainAll(reader);
    expect(got.length).toBe(10);
    const cpu = got[0].cpu;
    expect(reader.cpus).toContain(cpu);
    got.forEach((g, i) => {
      expect(g).toMatchObject({ type: "sample", cpu }); // one run, one CPU
      expect(g.bytes!.length).toBe(padded(20));
      expect(g.bytes!.subarray(0, 20)).toEqual(expectedRecord(50 + i, 20));
    });
    expect(drainAll(reader)).toEqual([]);
    expect(reader.lostSamples).toBe(0);
  });

  it("wraps around a one-page ring over several drains (records straddling the end joined)", () => {
    using coll = loadProducers();
    using reader = new PerfReader(coll.maps.events, { pages: 1 });
    const all: Got[] = [];
    // 64-byte payloads make 80-byte records: 4096 is no multiple of 80.
    for (let round = 0; round < 10; round++) {
      produce(coll, "perf_output", { count: 40, first: round * 40, size: 64 });
      all.push(...drainAll(reader));
    }
    expect(dropped(coll)).toBe(0);
    expect(all.length).toBe(400);
    // Runs may land on different CPUs; per CPU, order is kept. Every record arrives whole.
    const seqs = all.map((g) => seqOf(g.bytes!)).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 400 }, (_, i) => i));
    for (const g of all) {
      // The kernel skips (does not write) the padding, so only the payload is compared.
      expect(g.bytes!.length).toBe(padded(64));
      expect(g.bytes!.subarray(0, 64)).toEqual(expectedRecord(seqOf(g.bytes!), 64));
    }
  });

  it("reports lost samples when the ring overflows", async () => {
    using coll = loadProducers();
    using reader = new PerfReader(coll.maps.events, { pages: 1 });
    const cpu = reader.cpus[0];
    await onCpu(cpu, () => {
      produce(coll, "perf_output", { count: 300, size: 64 });
      const lost = dropped(coll);
      expect(lost).toBeGreaterThan(0);
      const first = drainAll(reader);
      expect(first.length).toBe(300 - lost);
      expect(first.map((g) => seqOf(g.bytes!))).toEqual(Array.from({ length: 300 - lost }, (_, i) => i));
      // The kernel writes the LOST record before the next sample that fits on that CPU.
      produce(coll, "perf_output", { count: 1, first: 999, size: 8 });
      const next = drainAll(reader);
      expect(next.map((g) => g.type)).toEqual(["lost", "sample"]);
      expect(next[0]).toMatchObject({ cpu, lost });
      expect(seqOf(next[1].bytes!)).toBe(999);
      expect(reader.lostSamples).toBe(lost);
    });
  });

  it("for await reports lost samples and joins records that wrap", async () => {
    using coll = loadProducers();
    using reader = new PerfReader(coll.maps.events, { pages: 1 });
    const cpu = reader.cpus[0];
    await onCpu(cpu, async () => {
      produce(coll, "perf_output", { count: 30, size: 64 }); // 30 × 80 bytes: the next ones wrap
      let n = 0;
      for await (const e of reader) {
        expect(e.type).toBe("sample");
        if (++n === 30) break;
      }
      produce(coll, "perf_output", { count: 300, first: 30, size: 64 });
      const lost = dropped(coll);
      expect(lost).toBeGreaterThan(0);
      const events: PerfEvent[] = [];
      for await (const e of reader) {
        if (e.type === "sample") {
          const size = new DataView(e.data.buffer, e.data.byteOffset).getUint32(4, true);
          expect(e.data.subarray(0, size)).toEqual(expectedRecord(seqOf(e.data), size));
          events.push({ type: "sample", cpu: e.cpu, data: e.data.slice() });
        } else events.push(e);
        if (events.length === 300 - lost) produce(coll, "perf_output", { count: 1, first: 999, size: 8 });
        if (e.type === "sample" && seqOf(e.data) === 999) break;
      }
      const samples = events.flatMap((e) => (e.type === "sample" ? [seqOf(e.data)] : []));
      expect(samples).toEqual([...Array.from({ length: 300 - lost }, (_, i) => 30 + i), 999]);
      expect(events[300 - lost]).toEqual({ type: "lost", cpu, lost });
      expect(reader.lostSamples).toBe(lost);
    });
  });

  it("read() waits off the event loop and wakes on a sample", async () => {
    using coll = loadProducers();
    using reader = new PerfReader(coll.maps.events);
    expect(await reader.read({ timeoutMs: 20 })).toBeUndefined();
    const pending = reader.read({ timeoutMs: 5000 });
    await sleep(30);
    produce(coll, "perf_output", { count: 1, first: 7, size: 8 });
    const started = Date.now();
    const e = await pending;
    expect(Date.now() - started).toBeLessThan(4000);
    expect(e?.type).toBe("sample");
    expect(seqOf((e as Extract<PerfEvent, { type: "sample" }>).data)).toBe(7);
  });

  it("with wakeupEvents, the kernel wakes a wait only after that many samples; a wait's last check at its timeout finds fewer", async () => {
    using coll = loadProducers();
    using reader = new PerfReader(coll.maps.events, { wakeupEvents: 4 });
    // Pinned: the count is per CPU, so all four samples must land on one ring.
    await onCpu(reader.cpus[0], async () => {
      const pending = reader.read();
      let resolved = false;
      void pending.then(() => (resolved = true));
      await sleep(30);
      produce(coll, "perf_output", { count: 2, size: 8 });
      await sleep(300);
      expect(resolved).toBe(false);
      produce(coll, "perf_output", { count: 2, first: 2, size: 8 });
      expect((await pending)?.type).toBe("sample");
    });
    using few = new PerfReader(coll.maps.events, { wakeupEvents: 4 });
    const started = Date.now();
    const p2 = few.read({ timeoutMs: 300 });
    await sleep(20);
    produce(coll, "perf_output", { count: 1, first: 5, size: 8 });
    expect((await p2)?.type).toBe("sample");
    expect(Date.now() - started).toBeGreaterThanOrEqual(290); // no wakeup for one sample: found at the timeout
  });

  it("for await yields zero-copy events until closed", async () => {
    using coll = loadProducers();
    const reader = new PerfReader(coll.maps.events);
    setTimeout(() => produce(coll, "perf_output", { count: 3, first: 0, size: 8 }), 20);
    setTimeout(() => produce(coll, "perf_output", { count: 2, first: 3, size: 8 }), 60);
    const seqs: number[] = [];
    const buffers = new Set<number>();
    const iterating = (async () => {
      for await (const e of reader) {
        if (e.type !== "sample") continue;
        seqs.push(seqOf(e.data));
        buffers.add(e.data.buffer.byteLength);
      }
    })();
    for (let i = 0; i < 500 && seqs.length < 5; i++) await sleep(10);
    reader.close();
    await iterating;
    expect(seqs.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    // Zero copy: every sample is a view of a CPU's mapping (metadata page + 8 data pages).
    expect([...buffers]).toEqual([9 * 4096]);
  });

  it("empties its map slots, unmaps and closes every fd on close; use after close is a ClosedError", async () => {
    using coll = loadProducers();
    const fds = openFdCount();
    const rings = perfMappings();
    const reader = new PerfReader(coll.maps.events);
    const cpus = reader.cpus.length;
    expect(openFdCount()).toBe(fds + 1 + 2 * cpus); // map dup, one event per CPU and the event loop's watch of it
    expect(perfMappings()).toBe(rings + cpus);
    reader.close();
    reader.close();
    expect(openFdCount()).toBe(fds);
    expect(perfMappings()).toBe(rings);
    // Programs now find no event in the slot: the output fails (and counts as dropped).
    const before = dropped(coll);
    produce(coll, "perf_output", { count: 1, size: 8 });
    expect(dropped(coll)).toBe(before + 1);
    for (const use of [() => reader.poll(() => undefined)]) {
      let err: unknown;
      try {
        use();
      } catch (e) {
        err = e;
      }
      expect(isClosedError(err)).toBe(true);
    }
    await expect(reader.read()).rejects.toSatisfy(isClosedError);
  });

  it("a reader dropped without close() gives back its fds and rings once collected", async () => {
    using coll = loadProducers();
    const fds = openFdCount();
    const rings = perfMappings();
    (() => {
      const dropped = new PerfReader(coll.maps.events);
      expect(dropped.lostSamples).toBe(0);
    })();
    expect(perfMappings()).toBeGreaterThan(rings);
    for (let i = 0; i < 30 && (openFdCount() !== fds || perfMappings() !== rings); i++) {
      gc();
      await sleep(10);
    }
    expect(openFdCount()).toBe(fds);
    expect(perfMappings()).toBe(rings);
  });

  it("refuses other map types, bad options and CPUs without a slot", () => {
    using hash = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: 1 });
    expect(() => new PerfReader(hash)).toThrow(/PerfReader: map "hash" is a "hash" map, not "perf_event_array"/);
    using coll = loadProducers();
    expect(() => new PerfReader(coll.maps.rb)).toThrow(/"ringbuf" map, not "perf_event_array" \(use RingBufReader\)/);
    const fds = openFdCount();
    expect(() => new PerfReader(coll.maps.events, { pages: 3 })).toThrow(/power of two/);
    expect(() => new PerfReader(coll.maps.events, { wakeupEvents: 0 })).toThrow(RangeError);
    expect(() => new PerfReader(coll.maps.events, { wakeupEvents: 2, watermarkBytes: 64 })).toThrow(/not both/);
    expect(() => new PerfReader(coll.maps.events, { cpus: [] })).toThrow(TypeError);
    expect(() => new PerfReader(coll.maps.events, { cpus: [500] })).toThrow(/CPU 500 has no slot in a map of 128 entries/);
    expect(() => new PerfReader(coll.maps.events, { ring: 1 } as never)).toThrow(/unknown option "ring"/);
    expect(() => new PerfReader(coll.maps.events, { coalesce: 1 } as never)).toThrow(/coalesce must be a boolean/);
    using small = BpfMap.create({ type: "perf_event_array", key: u32, value: u32, maxEntries: 1 });
    if (onlineCpus().some((c) => c >= 1)) expect(() => new PerfReader(small)).toThrow(/has no slot in a map of 1 entries/);
    expect(openFdCount()).toBe(fds + 1); // only the map `small`
    // A reader on CPU 0 only reads CPU 0.
    using one = new PerfReader(small, { cpus: [0] });
    expect(one.cpus).toEqual([0]);
  });
});

/** Perf ring mappings in this process (lines of /proc/self/maps naming anon_inode:[perf_event]). */
function perfMappings(): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes("perf_event")).length;
}
