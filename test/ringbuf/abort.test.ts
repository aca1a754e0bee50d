/**
 * AbortSignal and close() end pending waits at once, the same way on every reader and on the
 * user ring buffer writer: an abort rejects with the signal's reason (read, wait, waitForSpace,
 * records()), a close resolves (undefined/false) or ends the loop.
 */
import { expect, it } from "vitest";
import { PerfReader } from "../../src/perf/reader.js";
import { RingBufReader } from "../../src/ringbuf/reader.js";
import { UserRingBufWriter } from "../../src/ringbuf/user-writer.js";
import { describeKernel } from "../helpers/kernel.js";
import { loadProducers, produce, sleep } from "./producers.js";

/** Milliseconds `p` takes to settle after `act()` runs at 20 ms. */
async function settleAfter<T>(p: Promise<T>, act: () => void): Promise<{ ms: number; value?: T; error?: unknown }> {
  await sleep(20);
  const started = performance.now();
  act();
  try {
    const value = await p;
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

const seqOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

describeKernel("abort and close end pending waits at once", () => {
  it("ring buffer: read(), wait() and records() reject with the signal's reason when it aborts", async () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    const ac = new AbortController();
    const r = await settleAfter(reader.read({ signal: ac.signal }), () => ac.abort());
    expect(r.ms).toBeLessThan(20);
    expect(r.error).toMatchObject({ name: "AbortError" });

    const reason = new Error("enough");
    const ac2 = new AbortController();
    const w = await settleAfter(reader.wait({ signal: ac2.signal, timeoutMs: 60_000 }), () => ac2.abort(reason));
    expect(w.error).toBe(reason);

    // An already aborted signal rejects without waiting.
    await expect(reader.read({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);

    // records({ signal }): the loop throws the reason; the reader can be iterated again after.
    const ac3 = new AbortController();
    produce(coll, "rb_output", { count: 2, first: 10 });
    const seen: number[] = [];
    const loop = (async () => {
      for await (const bytes of reader.records({ signal: ac3.signal })) seen.push(seqOf(bytes));
    })();
    const l = await settleAfter(loop, () => ac3.abort(reason));
    expect(l.error).toBe(reason);
    expect(seen).toEqual([10, 11]);
    produce(coll, "rb_output", { count: 1, first: 12 });
    for await (const bytes of reader.records()) {
      expect(seqOf(bytes)).toBe(12);
      break;
    }
    expect(reader.available).toBe(0); // break handed the record back
  });

  it("ring buffer: close() resolves a pending read() and wait() and ends a for await loop at once", async () => {
    using coll = loadProducers();
    const reader = new RingBufReader(coll.maps.rb);
    const read = reader.read();
    const waited = reader.records();
    const next = waited.next();
    const r = await settleAfter(read, () => reader.close());
    expect(r.ms).toBeLessThan(20);
    expect(r.value).toBeUndefined();
    expect(await next).toEqual({ value: undefined, done: true });
  });

  it("perf reader: abort rejects read() and records(); close ends them", async () => {
    using coll = loadProducers();
    const reader = new PerfReader(coll.maps.events);
    const ac = new AbortController();
    const r = await settleAfter(reader.read({ signal: ac.signal }), () => ac.abort());
    expect(r.error).toMatchObject({ name: "AbortError" });
    const ac2 = new AbortController();
    const loop = (async () => {
      for await (const e of reader.records({ signal: ac2.signal })) void e;
    })();
    const l = await settleAfter(loop, () => ac2.abort(new Error("stop")));
    expect(l.error).toMatchObject({ message: "stop" });
    const pending = reader.wait();
    const c = await settleAfter(pending, () => reader.close());
    expect(c.ms).toBeLessThan(20);
    expect(c.value).toBe(false);
  });

  it("user ring buffer writer: waitForSpace() rejects on abort and resolves false on close", async () => {
    using coll = loadProducers();
    const writer = new UserRingBufWriter(coll.maps.urb);
    // Fill the ring so a further record must wait for the program to drain.
    while (writer.write(new Uint8Array(1000)));
    const ac = new AbortController();
    const a = await settleAfter(writer.waitForSpace(1000, { signal: ac.signal }), () => ac.abort());
    expect(a.ms).toBeLessThan(20);
    expect(a.error).toMatchObject({ name: "AbortError" });
    const c = await settleAfter(writer.waitForSpace(1000), () => writer.close());
    expect(c.ms).toBeLessThan(20);
    expect(c.value).toBe(false);
  });

  it("refuses a signal that is not an AbortSignal and unknown options", async () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    await expect(reader.read({ signal: {} as never })).rejects.toThrow(/signal must be an AbortSignal/);
    await expect(reader.wait({ bogus: 1 } as never)).rejects.toThrow(/unknown wait option "bogus" \(known: timeoutMs, signal\)/);
    expect(() => reader.records({ timeoutMs: 1 } as never)).toThrow(/unknown records\(\) option "timeoutMs"/);
  });
});
