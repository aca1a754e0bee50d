/**
 * A spec loaded more than once keeps each ELF program's kernel bytes from the first load and
 * refills only the map fds (src/collection/kept-programs.ts). These tests hold it to the bytes
 * the full encoding makes, and to the rule that anything user code may have changed is encoded
 * again.
 */
import { join } from "node:path";
import { expect } from "vitest";
import { Collection } from "../../src/collection/collection.js";
import { hasKeptCode } from "../../src/collection/kept-programs.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import type { Instruction } from "../../src/asm/instruction.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

const obj = (name: string) => join(__dirname, "../../bpf", `${name}.o`);
const XDP_PASS = 2;
const XDP_DROP = 1;

/** The maps each program's instructions name, read from a spec of its own (reading marks it seen). */
function mapNames(name: string): Record<string, string[]> {
  const s = CollectionSpec.fromFile(obj(name));
  const out: Record<string, string[]> = {};
  for (const [p, prog] of Object.entries(s.programs)) {
    const names = new Set<string>();
    for (const insn of prog.instructions) if (insn.reference?.kind === "map") names.add(insn.reference.name);
    out[p] = [...names];
  }
  return out;
}

/** The `w0 = XDP_PASS` a bench_many program returns with. */
function returnPass(insns: readonly Instruction[]): number {
  const i = insns.findIndex((x) => x.opcode === 0xb4 && x.dst === 0 && x.imm === XDP_PASS);
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
}

describeKernel("kept program bytes", () => {
  for (const name of ["bench_many", "global_data", "subprograms", "xdp_tail", "histogram", "kconfig"]) {
    itKernel(`${name}.o: a second load uses the kept bytes, the same the kernel got the first time, with its own maps`, () => {
      const spec = CollectionSpec.fromFile(obj(name));
      const first = Collection.load(spec);
      try {
        for (const p of spec.autoloadPrograms) expect(hasKeptCode(spec.programs[p]), p).toBe(true);
        const second = Collection.load(spec);
        try {
          const names = mapNames(name);
          for (const p of spec.autoloadPrograms) {
            const a = first.programs[p].info();
            const b = second.programs[p].info();
            // The tag hashes the instructions with map fds zeroed: same bytes but for the fds.
            expect(b.tag, p).toBe(a.tag);
            // ...and the fds are the second collection's maps.
            const want = names[p].map((m) => second.maps[m].id).sort((x, y) => x - y);
            expect([...b.mapIds].sort((x, y) => x - y), p).toEqual(want);
          }
        } finally {
          second.close();
        }
      } finally {
        first.close();
      }
    });
  }

  itKernel("instructions changed in place after a load are loaded as changed", () => {
    const spec = CollectionSpec.fromFile(obj("bench_many"));
    Collection.load(spec).close();
    const insns = spec.programs.prog_0.instructions as Instruction[]; // user code sees them: nothing kept is used again
    expect(hasKeptCode(spec.programs.prog_0)).toBe(false);
    const i = returnPass(insns);
    insns[i] = { ...insns[i], imm: XDP_DROP };
    using coll = Collection.load(spec);
    expect(coll.programs.prog_0.run({ data: new Uint8Array(64) }).retval).toBe(XDP_DROP);
    expect(coll.programs.prog_1.run({ data: new Uint8Array(64) }).retval).toBe(XDP_PASS);
  });

  itKernel("an instruction object edited in place after a load is loaded as edited", () => {
    const spec = CollectionSpec.fromFile(obj("bench_many"));
    Collection.load(spec).close();
    const insns = spec.programs.prog_3.instructions;
    (insns[returnPass(insns)] as { imm: number }).imm = XDP_DROP;
    using coll = Collection.load(spec);
    expect(coll.programs.prog_3.run({ data: new Uint8Array(64) }).retval).toBe(XDP_DROP);
  });

  itKernel("instructions assigned after a load, or a copy of the program with others, are loaded", () => {
    const spec = CollectionSpec.fromFile(obj("bench_many"));
    Collection.load(spec).close();
    const fresh = CollectionSpec.fromFile(obj("bench_many"));
    const drop = fresh.programs.prog_5.instructions.slice();
    drop[returnPass(drop)] = { ...drop[returnPass(drop)], imm: XDP_DROP };
    spec.programs.prog_5.instructions = drop;
    spec.programs.prog_6 = { ...spec.programs.prog_6, instructions: drop };
    using coll = Collection.load(spec);
    expect(coll.programs.prog_5.run({ data: new Uint8Array(64) }).retval).toBe(XDP_DROP);
    expect(coll.programs.prog_6.run({ data: new Uint8Array(64) }).retval).toBe(XDP_DROP);
    expect(coll.programs.prog_7.run({ data: new Uint8Array(64) }).retval).toBe(XDP_PASS);
  });

  itKernel("a map passed in on a later load gets the kept bytes' fd slot", () => {
    const spec = CollectionSpec.fromFile(obj("bench_many"));
    Collection.load(spec).close();
    using mine = BpfMap.create({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 64, name: "kept_mine" });
    using coll = Collection.load(spec, { maps: { map_0: mine } });
    expect(hasKeptCode(spec.programs.prog_0)).toBe(true);
    expect(coll.programs.prog_0.info().mapIds).toEqual([mine.id]);
    coll.programs.prog_0.run({ data: new Uint8Array(64) }); // counts packets of 64 bytes in map_0
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, 64, true);
    expect(mine.get(key)).toBeDefined();
  });

  itKernel("the lazy fields cannot be redefined around the loader's bookkeeping", () => {
    const spec = CollectionSpec.fromFile(obj("bench_many"));
    for (const field of ["instructions", "funcInfos", "lineInfos", "coreRelocations"]) {
      expect(() => Object.defineProperty(spec.programs.prog_0, field, { value: [] }), field).toThrow(TypeError);
      expect(() => delete (spec.programs.prog_0 as unknown as Record<string, unknown>)[field], field).toThrow(TypeError);
    }
  });

  itKernel("reading a program's line info after a load stops its kept bytes being used", () => {
    const spec = CollectionSpec.fromFile(obj("bench_many"));
    Collection.load(spec).close();
    expect(hasKeptCode(spec.programs.prog_9)).toBe(true);
    void spec.programs.prog_9.lineInfos;
    expect(hasKeptCode(spec.programs.prog_9)).toBe(false);
    expect(hasKeptCode(spec.programs.prog_10)).toBe(true);
  });
});
