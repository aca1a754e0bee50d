/**
 * Model-based property: any sequence of element operations on a kernel hash map behaves like
 * the same sequence on a JS Map (with the kernel's capacity and NOEXIST/EXIST rules).
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import { u32, u64 } from "../../src/codec.js";
import { isBpfError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { describeKernel } from "../helpers/kernel.js";

type Op =
  | { op: "set"; key: number; value: bigint; mode: "any" | "noexist" | "exist" }
  | { op: "get" | "delete" | "has" | "lookupAndDelete"; key: number }
  | { op: "updateBatch"; keys: number[]; value: bigint }
  | { op: "deleteBatch"; keys: number[] };

const key = fc.integer({ min: 0, max: 12 });
const value = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), key, value, mode: fc.constantFrom("any" as const, "noexist" as const, "exist" as const) }),
  fc.record({ op: fc.constantFrom("get" as const, "delete" as const, "has" as const, "lookupAndDelete" as const), key }),
  fc.record({ op: fc.constant("updateBatch" as const), keys: fc.uniqueArray(key, { minLength: 1, maxLength: 4 }), value }),
  fc.record({ op: fc.constant("deleteBatch" as const), keys: fc.uniqueArray(key, { minLength: 1, maxLength: 3 }) }),
);

const CAPACITY = 8;

function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (isBpfError(e)) return e.code;
    throw e;
  }
}

describeKernel("hash map against a model", () => {
  it("agrees with a JS Map on every result and on the final contents", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        using m = BpfMap.create({ type: "hash", key: u32, value: u64, maxEntries: CAPACITY, flags: 1 /* NO_PREALLOC */ });
        const model = new Map<number, bigint>();
        for (const o of ops) {
          switch (o.op) {
            case "set": {
              const exists = model.has(o.key);
              const expected = o.mode === "noexist" && exists ? "EEXIST"
                : o.mode === "exist" && !exists ? "ENOENT"
                : !exists && model.size >= CAPACITY ? "E2BIG" : undefined;
              expect(code(() => m.set(o.key, o.value, o.mode))).toBe(expected);
              if (!expected) model.set(o.key, o.value);
              break;
            }
            case "get":
              expect(m.get(o.key)).toBe(model.get(o.key));
              break;
            case "has":
              expect(m.has(o.key)).toBe(model.has(o.key));
              break;
            case "delete":
              expect(m.delete(o.key)).toBe(model.delete(o.key));
              break;
            case "lookupAndDelete":
              expect(m.lookupAndDelete(o.key)).toBe(model.get(o.key));
              model.delete(o.key);
              break;
            case "updateBatch": {
              const fresh = o.keys.filter((k) => !model.has(k)).length;
              if (model.size + fresh <= CAPACITY) {
                expect(m.updateBatch(o.keys, o.keys.map(() => o.value))).toBe(o.keys.length);
                for (const k of o.keys) model.set(k, o.value);
              } else {
                // Elements go in order until the map is full: mirror that, then compare below.
                expect(code(() => m.updateBatch(o.keys, o.keys.map(() => o.value)))).toBe("E2BIG");
                for (const k of o.keys) {
                  if (!model.has(k) && model.size >= CAPACITY) break;
                  model.set(k, o.value);
                }
              }
              break;
            }
            case "deleteBatch": {
              const firstMissing = o.keys.findIndex((k) => !model.has(k));
              if (firstMissing < 0) {
                expect(m.deleteBatch(o.keys)).toBe(o.keys.length);
                for (const k of o.keys) model.delete(k);
              } else {
                expect(code(() => m.deleteBatch(o.keys))).toBe("ENOENT");
                for (const k of o.keys.slice(0, firstMissing)) model.delete(k);
              }
              break;
            }
          }
        }
        expect(new Map(m.entries())).toEqual(model);
      }),
      { numRuns: 150 },
    );
  });
});
