/**
 * The 64-bit positions kept as two u32 halves (src/ringbuf/layout.ts, publish in reader.ts):
 * properties over positions across the 2^32 boundary, which a test ring cannot reach in
 * reasonable time (4 GiB through it).
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import { loadPosition, recordSpan, TWO_32 } from "../../src/ringbuf/layout.js";
import { publish } from "../../src/ringbuf/reader.js";

function page(pos: number): Uint32Array {
  const w = new Uint32Array(2);
  w[0] = pos % TWO_32;
  w[1] = Math.floor(pos / TWO_32);
  return w;
}

it("publishing a position after any record span reads back exactly, across 2^32 carries", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: TWO_32 - 4096, max: TWO_32 + 4096 }), fc.integer({ min: 3 * TWO_32 - 64, max: 3 * TWO_32 })),
      fc.array(fc.integer({ min: 1, max: 1 << 20 }), { minLength: 1, maxLength: 20 }),
      (start, lengths) => {
        const words = page(start);
        let pos = start;
        for (const length of lengths) {
          const next = pos + recordSpan(length);
          publish(words, next, pos);
          expect(loadPosition(words, 0)).toBe(next);
          pos = next;
        }
      },
    ),
  );
});

it("a reader between the two halves never sees more free space than there is", () => {
  // Low half first: after it and before the high half, the position read is 2^32 too small.
  const words = page(TWO_32 - 8);
  const lo = (TWO_32 + 16) >>> 0;
  words[0] = lo; // what publish() writes first
  expect(loadPosition(words, 0)).toBeLessThan(TWO_32 + 16);
});

it("record spans are the header plus the payload rounded up to 8", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0x3fffffff }), (length) => {
      const span = recordSpan(length);
      expect(span % 8).toBe(0);
      expect(span - 8 - length).toBeGreaterThanOrEqual(0);
      expect(span - 8 - length).toBeLessThan(8);
    }),
  );
});
