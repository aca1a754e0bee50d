/**
 * A model-based property: any sequence of producer runs (bpf_ringbuf_output of any size,
 * reserve + submit/discard) and partial drains gives exactly the records a model of the ring
 * predicts — which are kept, which are dropped for lack of space (the kernel refuses a record
 * that would bring the unconsumed bytes to the ring's size or more), in order, with contents.
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import { RingBufReader } from "../../src/ringbuf/reader.js";
import { describeKernel } from "../helpers/kernel.js";
import { dropped, expectedRecord, loadProducers, produce } from "./producers.js";

type Step =
  | { kind: "output"; count: number; size: number }
  | { kind: "reserve"; count: number; discard: number }
  | { kind: "drain"; limit: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("output" as const), count: fc.integer({ min: 0, max: 120 }), size: fc.integer({ min: 8, max: 64 }) }),
  fc.record({ kind: fc.constant("reserve" as const), count: fc.integer({ min: 0, max: 120 }), discard: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant("drain" as const), limit: fc.integer({ min: 1, max: 200 }) }),
);

const span = (length: number): number => (length + 8 + 7) & ~7;

describeKernel("RingBufReader model", () => {
  it("reads exactly the records a model of the ring predicts", () => {
    using coll = loadProducers();
    using reader = new RingBufReader(coll.maps.rb);
    let seq = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
        reader.poll(() => undefined); // start empty
        const queue: { seq: number; size: number; discarded: boolean }[] = [];
        let pending = 0; // unconsumed bytes, discarded records included
        let expectDropped = dropped(coll);
        const drainTo = (limit: number): void => {
          const got: Uint8Array[] = [];
          reader.poll((r) => {
            got.push(r.copy());
          }, limit);
          const want: { seq: number; size: number }[] = [];
          while (queue.length > 0 && want.length < limit) {
            const q = queue.shift()!;
            pending -= span(q.size);
            if (!q.discarded) want.push(q);
          }
          // Discarded records right after the last delivered one stay queued: poll() stops at
          // its limit before walking them, and the next poll consumes them.
          expect(got.map((b) => b.length)).toEqual(want.map((w) => w.size));
          got.forEach((b, i) => expect(b).toEqual(expectedRecord(want[i].seq, want[i].size)));
        };
        for (const s of steps) {
          if (s.kind === "drain") {
            drainTo(s.limit);
            continue;
          }
          const size = s.kind === "output" ? s.size : 16;
          const first = seq;
          for (let i = 0; i < s.count; i++) {
            const n = first + i;
            if (pending + span(size) > 4096 - 1) expectDropped++;
            else {
              pending += span(size);
              queue.push({ seq: n, size, discarded: s.kind === "reserve" && s.discard > 0 && n % s.discard === 0 });
            }
          }
          seq += s.count;
          if (s.kind === "output") produce(coll, "rb_output", { count: s.count, first, size: s.size });
          else produce(coll, "rb_reserve", { count: s.count, first, discard: s.discard });
          expect(dropped(coll)).toBe(expectDropped);
          expect(reader.available).toBe(pending);
        }
        drainTo(Number.MAX_SAFE_INTEGER);
        expect(reader.available).toBe(0);
      }),
      { numRuns: 40 },
    );
  });
});
