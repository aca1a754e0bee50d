/**
 * NativeMemory regions (src/sys/libc.ts): several native buffers carved from one allocation,
 * each with the address koffi gives its bytes, none overlapping another.
 */
import { describe, expect, it } from "vitest";
import { addressOf, NativeMemory } from "../../src/sys/libc.js";

describe("NativeMemory.regions", () => {
  it("gives each region its own 8-byte-aligned bytes and the address of those bytes", () => {
    const lengths = [4, 13, 48, 8, 1];
    const regions = NativeMemory.regions(lengths);
    expect(regions.map((r) => r.length)).toEqual(lengths);
    for (const [i, r] of regions.entries()) {
      expect(r.address % 8, `region ${i}`).toBe(0);
      expect(r.address, `region ${i}`).toBe(addressOf(r.bytes));
      expect([...r.bytes].every((b) => b === 0), `region ${i} starts zeroed`).toBe(true);
    }
    // Filling each region leaves every other one as it was.
    regions.forEach((r, i) => r.bytes.fill(i + 1));
    regions.forEach((r, i) => expect([...r.bytes].every((b) => b === i + 1), `region ${i}`).toBe(true));
    for (let i = 1; i < regions.length; i++) expect(regions[i].address).toBeGreaterThanOrEqual(regions[i - 1].address + lengths[i - 1]);
  });

  it("refuses a region outside its parent", () => {
    const parent = new NativeMemory(16);
    expect(() => new NativeMemory(8, parent, 12)).toThrow(RangeError);
    expect(() => new NativeMemory(8, parent, -8)).toThrow(RangeError);
    const inner = new NativeMemory(8, parent, 8);
    expect(inner.address).toBe(parent.address + 8);
    expect(new NativeMemory(4, inner, 4).address).toBe(parent.address + 12);
  });
});
