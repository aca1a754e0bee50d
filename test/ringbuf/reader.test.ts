/**
 * RingBufReader against the kernel: XDP programs (bpf/readers/readers.c, run by test run) write
 * numbered records with bpf_ringbuf_output and reserve+submit/discard; the reader must see
 * exactly those records, in order, with their contents.
 */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { u32, u64 } from "../../src/codec.js";
import { isClosedError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { RingBufReader } from "../../src/ringbuf/reader.js";
import { Fd } from "../../src/sys/fd.js";
import { describeKernel, gc, openFdCount } from "../helpers/kernel.js";
import { dropped, expectedRecord, loadProducers, produce, RB_FORCE_WAKEUP, RB_NO_WAKEUP, sleep } from "./producers.js";

/** Drain `reader` and return copies of the payloads. */
function drainCopies(reader: RingBufReader): Uint8Array[] {
  const out: Uint8Array[] = [];
  reader.poll((r) => {
    out.push(r.copy());
  });
  return out;
}

const seqOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

describeKernel("RingBufReader", () => {
  it("reads bpf_ringbuf_output records in order, in place, with their contents", () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    expect(reader.size).toBe(4096);
    expect(reader.poll(() => {
      throw new Error("no record expected");
    })).toBe(0);
    produce(coll, "rb_output", { count: 20, first: 100, size: 24 });
    expect(reader.available).toBe(20 * 32); // 8-byte header + 24 bytes, 8-aligned
    const seen: { seq: number; length: number; aligned: boolean; bytes: Uint8Array }[] = [];
    const n = reader.poll((r) => {
      seen.push({ seq: r.view.getUint32(r.offset, true), length: r.length, aligned: r.offset % 8 === 0, bytes: r.copy() });
    });
    expect(n).toBe(20);
    expect(seen.map((s) => s.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    for (const s of seen) {
      expect(s.length).toBe(24);
      expect(s.aligned).toBe(true);
      expect(s.bytes).toEqual(expectedRecord(s.seq, 24));
    }
    expect(reader.available).toBe(0);
    expect(reader.poll(() => undefined)).toBe(0);
  });

  it("poll() returns after one lap of the ring even when the callback makes a record for each it reads", () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    produce(coll, "rb_output", { count: 1, first: 0, size: 24 });
    let seq = 1;
    const seqs: number[] = [];
    const n = reader.poll((r) => {
      seqs.push(r.view.getUint32(r.offset, true));
      // A producer as fast as the reader, for ten laps (a bound, so that a poll() that chased
      // it would fail here rather than never return).
      if (seq < 10 * 128) produce(coll, "rb_output", { count: 1, first: seq++, size: 24 });
    });
    // 4096 bytes a lap, 32 a record (8-byte header + 24): 128 records, in order, then it returns.
    expect(n).toBe(reader.size / 32);
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i));
    // The one made by the last callback is the next call's.
    expect(reader.poll((r) => void seqs.push(r.view.getUint32(r.offset, true)))).toBe(1);
    expect(seqs.at(-1)).toBe(n);
  });

  it("gives a view of the ring's own memory (zero copy)", () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    produce(coll, "rb_output", { count: 1, first: 7, size: 8 });
    reader.poll((r) => {
      const a = r.bytes;
      const b = r.bytes;
      expect(a.buffer).toBe(b.buffer); // both over the one mapping, not copies
      expect(a.buffer).toBe(r.view.buffer);
      expect(a.byteOffset).toBe(b.byteOffset);
      expect(seqOf(a)).toBe(7);
    });
  });

  it("skips discarded records and reads submitted ones (reserve + submit/discard)", () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    produce(coll, "rb_reserve", { count: 12, first: 0, discard: 3 });
    const got = drainCopies(reader);
    const kept = Array.from({ length: 12 }, (_, i) => i).filter((s) => s % 3 !== 0);
    expect(got.map(seqOf)).toEqual(kept);
    for (const b of got) expect(b).toEqual(expectedRecord(seqOf(b), 16));
    // Discarded records are consumed too: nothing is left pending.
    expect(reader.available).toBe(0);
  });

  it("wraps around the ring over several drains, records straddling the end read whole", () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    // 36-byte payloads take 48 bytes: 4096 is no multiple of 48, so records straddle the end.
    const all: Uint8Array[] = [];
    for (let round = 0; round < 12; round++) {
      produce(coll, "rb_output", { count: 80, first: round * 80, size: 36 });
      all.push(...drainCopies(reader));
    }
    expect(dropped(coll)).toBe(0);
    expect(all.length).toBe(960); // 46 KB through a 4 KB ring
    all.forEach((b, i) => expect(b).toEqual(expectedRecord(i, 36)));
  });

  it("sees only the records that fit when the program fills the ring; the rest are dropped", () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    produce(coll, "rb_output", { count: 200, size: 40 }); // 48 bytes each
    const fit = Math.floor(4096 / 48);
    expect(dropped(coll)).toBe(200 - fit);
    expect(drainCopies(reader).map(seqOf)).toEqual(Array.from({ length: fit }, (_, i) => i));
    // Space is back once drained.
    produce(coll, "rb_output", { count: fit, first: 1000, size: 40 });
    expect(dropped(coll)).toBe(200 - fit);
    expect(drainCopies(reader).length).toBe(fit);
  });

  it("stops early when the callback returns false, and resumes with the next record", () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    produce(coll, "rb_output", { count: 5 });
    const first: number[] = [];
    expect(reader.poll((r) => {
      first.push(r.view.getUint32(r.offset, true));
      return first.length < 2 ? undefined : false;
    })).toBe(2);
    expect(first).toEqual([0, 1]);
    expect(reader.poll(() => undefined, 1)).toBe(1); // limit
    expect(drainCopies(reader).map(seqOf)).toEqual([3, 4]);
  });

  it("counts a record whose callback threw as consumed, and propagates the error", () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    produce(coll, "rb_output", { count: 3 });
    expect(() => reader.poll((r) => {
      if (r.view.getUint32(r.offset, true) === 1) throw new Error("boom");
    })).toThrow("boom");
    expect(drainCopies(reader).map(seqOf)).toEqual([2]);
  });

  it("read() waits off the event loop and wakes on a submit that asks for a wakeup", async () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const pending = reader.read();
      let resolved = false;
      void pending.then(() => (resolved = true));
      // A submit with BPF_RB_NO_WAKEUP does not wake the waiting reader...
      await sleep(50);
      produce(coll, "rb_output", { count: 1, first: 1, flags: RB_NO_WAKEUP });
      await sleep(300);
      expect(resolved).toBe(false);
      expect(ticks).toBeGreaterThan(20); // ...and the event loop kept running meanwhile
      // ...one that forces a wakeup does; the reader then returns the oldest record.
      produce(coll, "rb_output", { count: 1, first: 2, flags: RB_FORCE_WAKEUP });
      const got = await pending;
      expect(got && seqOf(got)).toBe(1);
      // The copy is the caller's: it survives the record being consumed and overwritten.
      expect(got).toEqual(expectedRecord(1, 16));
      expect(seqOf((await reader.read())!)).toBe(2);
    } finally {
      clearInterval(timer);
    }
  });

  it("read() wakes on a default submit (the kernel wakes a reader that has caught up)", async () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    const pending = reader.read({ timeoutMs: 5000 });
    await sleep(30);
    produce(coll, "rb_output", { count: 1, first: 9 });
    const started = Date.now();
    expect(seqOf((await pending)!)).toBe(9);
    expect(Date.now() - started).toBeLessThan(4000); // woken, not timed out
  });

  it("read() resolves undefined on timeout and when closed while waiting", async () => {
    using coll = loadProducers();
    const reader = new RingBufReader(coll.maps.rb);
    expect(await reader.read({ timeoutMs: 20 })).toBeUndefined();
    const pending = reader.read();
    await sleep(20);
    reader.close();
    expect(await pending).toBeUndefined();
  });

  it("a record submitted with BPF_RB_NO_WAKEUP wakes nobody, and the wait's last check at its timeout finds it", async () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    const started = Date.now();
    const pending = reader.read({ timeoutMs: 300 });
    await sleep(20);
    produce(coll, "rb_output", { count: 1, first: 5, flags: RB_NO_WAKEUP });
    expect(seqOf((await pending)!)).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290); // no wakeup: found at the timeout
  });

  it("for await yields zero-copy views in order, hands space back as it goes, and ends on close", async () => {
    using coll = loadProducers();
    const reader = new RingBufReader(coll.maps.rb);
    setTimeout(() => produce(coll, "rb_output", { count: 3, first: 0, size: 8 }), 20);
    setTimeout(() => produce(coll, "rb_reserve", { count: 4, first: 3, discard: 4 }), 60);
    const seqs: number[] = [];
    let pendingAtLast = -1;
    const iterating = (async () => {
      for await (const bytes of reader) {
        seqs.push(seqOf(bytes));
        // All consumed but this one: its space is released when the loop asks for more.
        if (seqs.length === 6) pendingAtLast = reader.available;
      }
    })();
    for (let i = 0; i < 500 && seqs.length < 6; i++) await sleep(10);
    reader.close(); // ends the loop that now waits for more
    await iterating;
    expect(seqs).toEqual([0, 1, 2, 3, 5, 6]); // 4 was discarded
    expect(pendingAtLast).toBe(24);
  });

  it("leaves the records after break unread, and the consumed one released", async () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    produce(coll, "rb_output", { count: 3, size: 8 });
    for await (const bytes of reader) {
      expect(seqOf(bytes)).toBe(0);
      break;
    }
    expect(drainCopies(reader).map(seqOf)).toEqual([1, 2]);
  });

  it("keeps working after the BpfMap is closed (it owns a duplicate fd)", () => {
    using coll = loadProducers();
    const map = BpfMap.fromFd(dupOf(coll.maps.rb));
    const reader = new RingBufReader(map);
    map.close();
    produce(coll, "rb_output", { count: 2 });
    expect(drainCopies(reader).map(seqOf)).toEqual([0, 1]);
    reader.close();
  });

  it("closes idempotently; use after close is a ClosedError; no fd or mapping leaks", async () => {
    using coll = loadProducers();
    const before = openFdCount();
    const maps = mapCount();
    const reader = new RingBufReader(coll.maps.rb);
    expect(openFdCount()).toBe(before + 2); // map dup, and the event loop watch's own dup
    let kept: Uint8Array | undefined;
    produce(coll, "rb_output", { count: 1, first: 77 });
    for await (const b of reader) {
      kept = b;
      break;
    }
    reader.close();
    reader.close();
    expect(openFdCount()).toBe(before);
    expect(reader.closed).toBe(true);
    for (const use of [() => reader.poll(() => undefined), () => reader.available]) {
      let err: unknown;
      try {
        use();
      } catch (e) {
        err = e;
      }
      expect(isClosedError(err)).toBe(true);
    }
    await expect(reader.read()).rejects.toSatisfy(isClosedError);
    // A view kept past close reads zeros instead of crashing the process.
    expect(kept!.every((b) => b === 0)).toBe(true);
    kept = undefined;
    // The ring's pages are released at close: the kernel map loses the reader's mappings.
    expect(mapCount()).toBe(maps);
    gc();
  });

  it("a reader dropped without close() gives back its fds and ring mappings once collected", async () => {
    using coll = loadProducers();
    const fds = openFdCount();
    const maps = mapCount();
    (() => {
      const dropped = new RingBufReader(coll.maps.rb);
      expect(dropped.available).toBe(0);
    })();
    expect(mapCount()).toBe(maps + 2);
    for (let i = 0; i < 30 && (openFdCount() !== fds || mapCount() !== maps); i++) {
      gc();
      await sleep(10);
    }
    expect(openFdCount()).toBe(fds);
    expect(mapCount()).toBe(maps);
  });

  it("refuses a map of another type, a closed map and unknown options", () => {
    using hash = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: 1 });
    expect(() => new RingBufReader(hash)).toThrow(/RingBufReader: map "hash" is a "hash" map, not "ringbuf"/);
    using urb = BpfMap.create({ type: "user_ringbuf", maxEntries: 4096 });
    expect(() => new RingBufReader(urb)).toThrow(/"user_ringbuf" map, not "ringbuf" \(use UserRingBufWriter\)/);
    expect(() => new RingBufReader({} as never)).toThrow(TypeError);
    const rb = BpfMap.create({ type: "ringbuf", maxEntries: 4096 });
    expect(() => new RingBufReader(rb, { bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
    expect(() => new RingBufReader(rb, { wait: "poll" } as never)).toThrow(/unknown option "wait": readers always wait on the event loop/);
    expect(() => new RingBufReader(rb, { coalesce: "no" } as never)).toThrow(/coalesce must be a boolean/);
    new RingBufReader(rb, { coalesce: false }).close();
    const fds = openFdCount();
    rb.close();
    let err: unknown;
    try {
      new RingBufReader(rb);
    } catch (e) {
      err = e;
    }
    expect(isClosedError(err)).toBe(true);
    expect(openFdCount()).toBe(fds - 1);
  });
});

/** Mappings of BPF maps in this process (lines of /proc/self/maps naming anon_inode:bpf-map). */
function mapCount(): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes("bpf-map")).length;
}

/** A duplicate of a map's fd, owned by the caller. */
function dupOf(m: { fd: number }): Fd {
  const borrowed = new Fd(m.fd);
  try {
    return borrowed.dup();
  } finally {
    borrowed.disown();
  }
}
