import { describe, expect, it } from "vitest";
import { asm } from "../../src/asm/assembler.js";
import * as b from "../../src/asm/builder.js";
import { R0, R1 } from "../../src/asm/builder.js";
import { linkInstructions } from "../../src/asm/link.js";
import { isTsbpfError } from "../../src/errors.js";

describe("link", () => {
  it("resolves jumps across ld_imm64 slots, counting slots not instructions", () => {
    const linked = linkInstructions(b.instructions(b.jeq(R1, 0, "out"), b.ldImm64(R0, 1n), b.ja("out"), b.label("out"), b.exit()));
    expect(linked[0]).toEqual(b.jeq(R1, 0, 3));
    expect(linked[2]).toEqual(b.ja(0));
    expect(linked[3]).toEqual({ ...b.exit(), symbol: "out" });
  });

  it("resolves backward jumps, gotol, may_goto, bpf2bpf calls and function pointers", () => {
    const linked = linkInstructions(asm`
    top:
      may_goto end
      gotol top
      call sub
      r2 = func(sub) ll
    end:
      exit
    sub:
      r0 = 0
      goto top
    `);
    expect(linked.map((i) => [i.offset, i.imm])).toEqual([
      [4, 0], // may_goto: slot 0 → end at slot 5
      [0, -2], // gotol: slot 1 → 0
      [0, 3], // call: slot 2 → sub at slot 6
      [0, 2n], // ld_imm64 func: slot 3 → 6
      [0, 0],
      [0, 0],
      [-8, 0], // goto: slot 7 → 0
    ]);
    expect(linked.every((i) => i.reference === undefined)).toBe(true);
  });

  it("leaves map references for the loader and allows concatenating lists before linking", () => {
    const head = asm`
      r1 = map(counts) ll
      goto tail
    `;
    const tail = asm`
    tail:
      exit
    `;
    const linked = linkInstructions([...head, ...tail]);
    expect(linked[0].reference).toEqual({ kind: "map", name: "counts" });
    expect(linked[1].offset).toBe(0);
  });

  it("throws naming the instruction for an unknown symbol, unless allowed", () => {
    const list = b.instructions(b.mov64(R0, 0), b.callFunction("missing"), b.exit());
    try {
      linkInstructions(list);
      expect.unreachable();
    } catch (e) {
      expect(isTsbpfError(e)).toBe(true);
      expect((e as Error).message).toContain('instruction 1 refers to "missing"');
    }
    expect(linkInstructions(list, { allowUnresolved: true })[1].reference).toEqual({ kind: "symbol", name: "missing" });
  });

  it("refuses a goto beyond 16 bits", () => {
    const far = Array.from({ length: 40000 }, () => b.mov64(R0, 0));
    expect(() => linkInstructions(b.instructions(b.ja("end"), far, b.label("end"), b.exit()))).toThrow(/gotol/);
  });
});
