import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect } from "vitest";
import fc from "fast-check";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { Collection } from "../../src/collection/collection.js";
import { isParseError } from "../../src/errors.js";
import { loadBinary } from "../../src/link/elf-symbols.js";
import { attachUsdt, encodeUsdtSpec, parseUsdtArgs, parseUsdtNotes, USDT_SPEC_SIZE } from "../../src/link/usdt.js";
import { describeKernel, it, itKernel } from "./kit.js";
import { ProbeBinary } from "./probe-binary.js";
import { getU64 } from "./progs.js";

let bin: ProbeBinary;
beforeAll(() => {
  bin = new ProbeBinary();
});
afterAll(() => bin?.remove());

describe("USDT notes and argument specs (no kernel needed)", () => {
  it("reads every .note.stapsdt note as readelf does", () => {
    const notes = parseUsdtNotes(loadBinary(bin.path));
    const text = execFileSync("readelf", ["-n", bin.path], { encoding: "utf8" });
    const re = /Provider: (\S+)\s+Name: (\S+)\s+Location: 0x([0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: 0x([0-9a-f]+)\s+Arguments: ([^\n]*)/g;
    const expected = [...text.matchAll(re)].map((m) => ({ provider: m[1], name: m[2], pc: BigInt("0x" + m[3]), semaphore: BigInt("0x" + m[4]), args: m[5]!.trim() }));
    expect(expected.length).toBe(2);
    expect(notes).toEqual(expected);
  });

  it("parses x86_64 argument locations into usdt.bpf.h specs", () => {
    expect(parseUsdtArgs("-4@%edx 8@-16(%rbp) 4@$5 -1@(%rax) 2@$-3")).toEqual([
      { type: "reg", valOff: 0n, regOff: 96, signed: true, bitshift: 32 },
      { type: "reg_deref", valOff: BigInt.asUintN(64, -16n), regOff: 32, signed: false, bitshift: 0 },
      { type: "const", valOff: 5n, regOff: -1, signed: false, bitshift: 32 },
      { type: "reg_deref", valOff: 0n, regOff: 80, signed: true, bitshift: 56 },
      { type: "const", valOff: BigInt.asUintN(64, -3n), regOff: -1, signed: false, bitshift: 48 },
    ]);
    expect(parseUsdtArgs("")).toEqual([]);
    expect(() => parseUsdtArgs("8@8(%rax,%rbx,2)")).toThrow(/not supported by usdt.bpf.h/);
    expect(() => parseUsdtArgs("3@%eax")).toThrow(/size 3/);
    expect(() => parseUsdtArgs("4@%xmm0")).toThrow(/unknown x86_64 register/);
  });

  it("lays out struct __bpf_usdt_spec", () => {
    const b = encodeUsdtSpec(parseUsdtArgs("-4@%edx 8@%rcx"), 0x77n);
    expect(b.length).toBe(USDT_SPEC_SIZE);
    const v = new DataView(b.buffer);
    expect([v.getUint32(8, true), v.getInt16(12, true), v.getUint8(14), v.getInt8(15)]).toEqual([1, 96, 1, 32]);
    expect([v.getInt16(16 + 12, true), v.getBigUint64(192, true), v.getInt16(200, true)]).toEqual([88, 0x77n, 2]);
  });

  it("never throws anything but a ParseError on hostile argument strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          parseUsdtArgs(s);
        } catch (e) {
          expect(isParseError(e)).toBe(true);
        }
      }),
    );
  });
});

describeKernel("USDT", () => {
  itKernel("attaches at every site of tsbpf:tick and the program reads its three arguments and cookie", () => {
    using coll = Collection.load(CollectionSpec.fromFile(new URL("../../bpf/link/usdt.o", import.meta.url).pathname));
    const out = coll.maps.usdt_out!;
    const read = () => Array.from({ length: 5 }, (_, k) => getU64(out, k, true));
    const link = attachUsdt(coll.programs.tick!, { path: bin.path, provider: "tsbpf", name: "tick", specsMap: coll.maps.__bpf_usdt_specs!, cookie: 0xabcn });
    try {
      expect(link.info()).toMatchObject({ type: "usdt", sites: 1 });
      const sum = bin.run(6);
      // Last iteration i = 5: sum after it is the program's total, triple = 15.
      expect(read()).toEqual([5n, BigInt(sum), 15n, 3n, 0xabcn]);
    } finally {
      link.close();
    }
    bin.run(2);
    expect(read()[0]).toBe(5n); // detached: nothing changed
    // tsbpf:tick_sem is guarded by its semaphore: it fires only because attaching raised it.
    {
      using sem = attachUsdt(coll.programs.tick!, { path: bin.path, provider: "tsbpf", name: "tick_sem", specsMap: coll.maps.__bpf_usdt_specs!, cookie: 7n });
      expect(sem.info()).toMatchObject({ sites: 1 });
      bin.run(3);
      expect(read()).toEqual([1002n, 0n, 0n, 1n, 7n]); // one argument: i + 1000
    }
    expect(() => attachUsdt(coll.programs.tick!, { path: bin.path, provider: "tsbpf", name: "nope", specsMap: coll.maps.__bpf_usdt_specs! })).toThrow(/no such probe/);
  });
});
