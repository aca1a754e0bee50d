import { expect, it } from "vitest";
import { Program } from "../../src/program/program.js";
import { describeKernel, gc, isFdOpen, openFdCount } from "../helpers/kernel.js";
import { returns, udpFrame, XDP_PASS } from "./fixtures.js";

describeKernel("Program fd ownership", () => {
  it("leaves /proc/self/fd as it was after 10,000 load/run/close cycles", () => {
    const spec = { name: "leak_check", type: "xdp", instructions: returns(XDP_PASS) } as const;
    const frame = udpFrame();
    const before = openFdCount();
    for (let i = 0; i < 10_000; i++) {
      const prog = Program.load(spec);
      if (i % 100 === 0) prog.run({ data: frame });
      prog.close();
    }
    expect(openFdCount()).toBe(before);
  }, 120_000);

  it("closes the fds of failed loads and failed opens", () => {
    const before = openFdCount();
    for (let i = 0; i < 200; i++) {
      expect(() => Program.load({ type: "xdp", instructions: returns(XDP_PASS).slice(1) })).toThrow();
      expect(() => Program.fromId(0x7ffffff0)).toThrow();
    }
    expect(openFdCount()).toBe(before);
  });

  it("closes a dropped Program in the finalizer", async () => {
    let fd = -1;
    (() => {
      fd = Program.load({ type: "xdp", instructions: returns(XDP_PASS) }).fd;
    })();
    expect(isFdOpen(fd)).toBe(true);
    for (let i = 0; i < 20 && isFdOpen(fd); i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(isFdOpen(fd)).toBe(false);
  });
});
