/**
 * UserRingBufWriter against the kernel: records written from userspace are consumed by an XDP
 * program calling bpf_user_ringbuf_drain (bpf/readers/readers.c: urb_drain, run by test run),
 * which records the first 8 bytes of each record it sees in the `seen` global.
 */
import { expect, it } from "vitest";
import type { Collection } from "../../src/collection/collection.js";
import { u32, u64 } from "../../src/codec.js";
import { isClosedError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { UserRingBufWriter } from "../../src/ringbuf/user-writer.js";
import { describeKernel, openFdCount } from "../helpers/kernel.js";
import { loadProducers, sleep } from "./producers.js";

/** Run the draining program; returns the first u64 of every record it consumed. */
function drain(coll: Collection): bigint[] {
  const n = coll.programs.urb_drain.run({ data: new Uint8Array(64), dataOut: false }).retval;
  expect(n).toBeLessThan(0x10000); // not an error code
  const bss = coll.dataView(".bss");
  const base = coll.variables.seen.offset;
  expect(Number(coll.variables.drained.value)).toBe(n);
  return Array.from({ length: n }, (_, i) => bss.getBigUint64(base + i * 8, true));
}

function record(value: bigint, length = 16): Uint8Array {
  const b = new Uint8Array(length);
  new DataView(b.buffer).setBigUint64(0, value, true);
  return b;
}

describeKernel("UserRingBufWriter", () => {
  it("writes records in place that a program drains in order; discarded ones are skipped", () => {
    using coll = loadProducers();
    using w = new UserRingBufWriter(coll.maps.urb);
    expect(w.size).toBe(4096);
    expect(w.free).toBe(4096);
    for (let i = 0; i < 5; i++) {
      const s = w.reserve(16 + i)!;
      expect(s.length).toBe(16 + i);
      s.view.setBigUint64(0, BigInt(1000 + i), true);
      if (i === 2) s.discard();
      else s.submit();
    }
    expect(w.free).toBe(4096 - (24 + 32 + 32 + 32 + 32)); // 8-byte header + payload, 8-aligned
    expect(drain(coll)).toEqual([1000n, 1001n, 1003n, 1004n]);
    expect(w.free).toBe(4096); // the kernel consumed them all, discarded one included
    expect(drain(coll)).toEqual([]);
  });

  it("holds back later records until an earlier reservation is submitted", () => {
    using coll = loadProducers();
    using w = new UserRingBufWriter(coll.maps.urb);
    const first = w.reserve(8)!;
    expect(w.write(record(2n, 8))).toBe(true);
    expect(drain(coll)).toEqual([]); // the head is still BUSY
    first.bytes.set(record(1n, 8));
    first.submit();
    expect(drain(coll)).toEqual([1n, 2n]);
  });

  it("wraps around the ring over several drains", () => {
    using coll = loadProducers();
    using w = new UserRingBufWriter(coll.maps.urb);
    const got: bigint[] = [];
    // 40-byte records take 48 bytes: 4096 is no multiple of 48, so records straddle the end.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 60; i++) expect(w.write(record(BigInt(round * 60 + i), 40))).toBe(true);
      got.push(...drain(coll));
    }
    expect(got).toEqual(Array.from({ length: 600 }, (_, i) => BigInt(i)));
  });

  it("reports a full ring, and waitForSpace resolves once a drain frees space", async () => {
    using coll = loadProducers();
    using w = new UserRingBufWriter(coll.maps.urb);
    let n = 0;
    while (w.write(record(BigInt(n), 56))) n++;
    expect(n).toBe(4096 / 64);
    expect(w.reserve(56)).toBeUndefined();
    expect(w.free).toBe(0);
    expect(await w.waitForSpace(56, { timeoutMs: 30 })).toBe(false);
    const waiting = w.waitForSpace(56, { timeoutMs: 5000 });
    await sleep(20);
    expect(drain(coll)).toEqual(Array.from({ length: 64 }, (_, i) => BigInt(i)));
    const started = Date.now();
    expect(await waiting).toBe(true);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(w.write(record(99n))).toBe(true);
  });

  it("refuses bad lengths, double submits, other map types; closes idempotently without leaks", () => {
    using coll = loadProducers();
    const fds = openFdCount();
    const w = new UserRingBufWriter(coll.maps.urb);
    expect(openFdCount()).toBe(fds + 2); // map dup, epoll
    expect(() => w.reserve(0)).toThrow(RangeError);
    expect(() => w.reserve(1.5)).toThrow(RangeError);
    expect(() => w.reserve(4096)).toThrow(/cannot fit a 4096-byte ring/);
    expect(() => w.write([1, 2] as never)).toThrow(TypeError);
    const s = w.reserve(8)!;
    s.submit();
    expect(() => s.submit()).toThrow(/already submitted or discarded/);
    expect(() => s.discard()).toThrow(/already submitted or discarded/);
    const late = w.reserve(8)!;
    w.close();
    w.close();
    expect(openFdCount()).toBe(fds);
    late.bytes.fill(1); // writes to a stale sample go nowhere instead of crashing
    for (const use of [() => w.reserve(8), () => w.free, () => late.submit()]) {
      let err: unknown;
      try {
        use();
      } catch (e) {
        err = e;
      }
      expect(isClosedError(err)).toBe(true);
    }
    using hash = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: 1 });
    expect(() => new UserRingBufWriter(hash)).toThrow(/"hash" map, not "user_ringbuf"/);
    expect(() => new UserRingBufWriter(coll.maps.rb)).toThrow(/"ringbuf" map, not "user_ringbuf" \(use RingBufReader\)/);
    expect(() => new UserRingBufWriter(coll.maps.urb, { size: 1 } as never)).toThrow(/unknown option "size"/);
  });
});
