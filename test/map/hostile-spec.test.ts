/**
 * Any spec given to BpfMap.create ends in a map or a typed error (TypeError, RangeError,
 * BpfError): never a crash, a hang or a leaked fd.
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import { u32, u64 } from "../../src/codec.js";
import { isBpfError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { MAP_TYPES } from "../../src/spec/map-type.js";
import { describeKernel, openFdCount } from "../helpers/kernel.js";

const junk = fc.oneof(
  fc.integer({ min: -5, max: 70000 }),
  fc.constantFrom(-1, 1.5, Number.NaN, Infinity, 2 ** 32, 2 ** 53, "4", null, true, 4n, {}, []),
);
/** Mostly plausible values, sometimes junk: the kernel path and the validation path both get exercised. */
function mostly<T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown> = junk): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: bad, weight: 1 });
}
const size = mostly(fc.constantFrom(0, 1, 4, 8, 12, 16, 64, 4096));

const specArb = fc
  .record({
    type: mostly(fc.constantFrom(...(Object.keys(MAP_TYPES) as (keyof typeof MAP_TYPES)[])), fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom("hashmap", "", -1))),
    keySize: size,
    valueSize: size,
    // Bounded so a valid spec cannot ask the kernel for gigabytes.
    maxEntries: mostly(fc.integer({ min: 0, max: 1024 }), fc.constantFrom(-1, 1.5, "8", 2 ** 32)),
    flags: mostly(fc.constantFrom(0, 1, 2, 1 << 10, 1 << 7), fc.oneof(fc.integer({ min: 0, max: 1 << 19 }), fc.constantFrom(-1, 0.5, "0"))),
    name: mostly(fc.stringMatching(/^[A-Za-z0-9_.]{0,20}$/), fc.string({ maxLength: 20 })),
    mapExtra: mostly(fc.constantFrom(0, 3), fc.oneof(fc.bigInt({ min: -1n, max: 2n ** 64n }), fc.constantFrom(1.5, -3))),
    key: fc.constantFrom(u32, u64),
    // Which optional parts this spec has.
    withKey: fc.boolean(),
    withJunk: fc.integer({ min: 0, max: 9 }),
  })
  .map(({ withKey, withJunk, key, ...spec }) => {
    const out: Record<string, unknown> = { ...spec };
    if (withKey) out.key = key;
    if (withJunk === 0) out.junkField = 1; // an unknown field must always be a TypeError
    return out;
  });

describeKernel("hostile map specs", () => {
  it("end in a map or a typed error, and leak no fd", () => {
    const before = openFdCount();
    const seen = { created: 0, typeError: 0, bpfError: 0 };
    fc.assert(
      fc.property(specArb, (spec) => {
        try {
          const m = BpfMap.create(spec as never);
          expect(m.fd).toBeGreaterThan(0);
          seen.created++;
          m.close();
        } catch (e) {
          const typed = e instanceof TypeError || e instanceof RangeError || isBpfError(e);
          if (!typed) throw e;
          if (isBpfError(e)) seen.bpfError++;
          else seen.typeError++;
          if ("junkField" in spec) expect(e).toBeInstanceOf(TypeError);
        }
      }),
      { numRuns: 400 },
    );
    expect(openFdCount()).toBe(before);
    // The property reached all three outcomes, so it checked the kernel path too.
    expect(seen.created).toBeGreaterThan(0);
    expect(seen.bpfError).toBeGreaterThan(0);
    expect(seen.typeError).toBeGreaterThan(0);
  });
});
