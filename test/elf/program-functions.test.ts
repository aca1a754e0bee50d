/**
 * programFunctions, funcStartingAt, disjoint and funcContaining against straightforward
 * versions (a Set-based breadth-first walk, a Map by start slot, a slot table filled function
 * by function) on random call graphs and function lists: the scan-then-Set walk and the binary
 * searches must give exactly the same answers.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { disjoint, funcContaining, funcStartingAt, programFunctions, type ElfFunc } from "../../src/elf/programs.js";
import { ParseError } from "../../src/errors.js";

const SEED = 0x19;

function reference(entry: ElfFunc, funcs: ReadonlyMap<string, ElfFunc>): ElfFunc[] | string {
  const order = [entry];
  const seen = new Set([entry.label]);
  for (let i = 0; i < order.length; i++) {
    for (const c of order[i].callees) {
      if (seen.has(c)) continue;
      const f = funcs.get(c);
      if (!f) return `ELF: program "${entry.name}" calls "${c}", which is not in the object`;
      seen.add(c);
      order.push(f);
    }
  }
  return order;
}

const fn = (label: string, callees: string[], startSlot = 0): ElfFunc => ({ label, name: label, callees, startSlot }) as unknown as ElfFunc;

describe("programFunctions", () => {
  it("matches a Set-based walk on random graphs (small and past the scan limit)", () => {
    const graph = fc.integer({ min: 1, max: 40 }).chain((n) =>
      fc.tuple(fc.constant(n), fc.array(fc.array(fc.integer({ min: 0, max: n + 1 }), { maxLength: 6 }), { minLength: n, maxLength: n })),
    );
    fc.assert(
      fc.property(graph, ([n, edges]) => {
        // labels f0..f(n-1); n and n+1 name functions that do not exist
        const funcs = new Map<string, ElfFunc>();
        for (let i = 0; i < n; i++) funcs.set(`f${i}`, fn(`f${i}`, edges[i].map((j) => `f${j}`)));
        for (const entry of funcs.values()) {
          const want = reference(entry, funcs);
          let got: ElfFunc[] | string;
          try {
            got = programFunctions(entry, funcs);
          } catch (e) {
            if (!(e instanceof ParseError)) throw e;
            got = e.message;
          }
          expect(typeof got === "string" ? got : got.map((f) => f.label)).toEqual(typeof want === "string" ? want : want.map((f) => f.label));
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("reaches more than 16 functions (the Set path) in breadth-first order", () => {
    const funcs = new Map<string, ElfFunc>();
    for (let i = 0; i < 30; i++) funcs.set(`f${i}`, fn(`f${i}`, i < 29 ? [`f${i + 1}`, "f0"] : ["f3"]));
    expect(programFunctions(funcs.get("f0")!, funcs).map((f) => f.label)).toEqual([...funcs.keys()]);
  });
});

describe("funcStartingAt", () => {
  it("matches a Map by start slot", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 60 }), fc.array(fc.integer({ min: -3, max: 205 }), { maxLength: 40 }), (starts, probes) => {
        const list = [...starts].sort((a, b) => a - b).map((s) => fn(`f${s}`, [], s));
        const bySlot = new Map(list.map((f) => [f.startSlot, f]));
        for (const p of probes) expect(funcStartingAt(list, p)).toBe(bySlot.get(p));
        for (const f of list) expect(funcStartingAt(list, f.startSlot)).toBe(f);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe("funcContaining and disjoint", () => {
  // sorted distinct starts with random lengths: some lists overlap, some leave gaps
  const lists = fc.uniqueArray(fc.record({ start: fc.integer({ min: 0, max: 120 }), slots: fc.integer({ min: 1, max: 12 }) }), {
    selector: (f) => f.start,
    maxLength: 30,
  });
  it("matches a slot table where the last function covering a slot owns it", () => {
    let overlapping = 0;
    let disjointLists = 0;
    fc.assert(
      fc.property(lists, fc.array(fc.integer({ min: -2, max: 140 }), { maxLength: 40 }), (raw, probes) => {
        const list = [...raw].sort((a, b) => a.start - b.start).map((f) => ({ ...fn(`f${f.start}`, [], f.start), slots: f.slots }) as ElfFunc);
        const owner = new Map<number, ElfFunc>();
        for (const f of list) for (let s = f.startSlot; s < f.startSlot + f.slots; s++) owner.set(s, f);
        const covered = list.reduce((n, f) => n + f.slots, 0);
        // disjoint exactly when no slot is claimed twice
        expect(disjoint(list)).toBe(owner.size === covered);
        if (!disjoint(list)) {
          overlapping++;
          return;
        }
        disjointLists++;
        for (const p of [...probes, ...list.map((f) => f.startSlot + f.slots - 1), ...list.map((f) => f.startSlot + f.slots)]) {
          expect(funcContaining(list, p)).toBe(owner.get(p));
        }
      }),
      { seed: SEED, numRuns: 400 },
    );
    // both kinds of list were tried
    expect(overlapping).toBeGreaterThan(20);
    expect(disjointLists).toBeGreaterThan(20);
  });
});
