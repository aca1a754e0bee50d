/**
 * How tsbpf loads koffi (src/sys/libc.ts): straight from koffi's platform package on glibc Linux,
 * skipping koffi's loader (#19: ~4 ms of every first system call), and the module it gets must be
 * the very one koffi's own entry hands out, so that a program using koffi itself beside tsbpf
 * shares one native module.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { koffi, SYS, syscall3 } from "../../src/sys/libc.js";

const require = createRequire(import.meta.url);

describe("loading koffi", () => {
  it("loads koffi's native module directly on glibc Linux, the same instance koffi's entry exports", () => {
    const ours = koffi();
    const theirs = require("koffi") as { default: unknown; version: string };
    // koffi's entry exports a copy of the native module's functions, with the module as `default`.
    expect(ours).toBe(theirs.default);
    expect(ours.version).toBe(theirs.version);
  });

  it("makes system calls through it", () => {
    expect(syscall3(SYS.getpid, 0, 0, 0)).toBe(process.pid);
  });
});
