/**
 * How tsbpf loads koffi (src/sys/libc.ts): straight from koffi's platform package on glibc Linux,
 * skipping koffi's loader (#19: ~4 ms of every first system call), and the module it gets must be
 * the very one koffi's own entry hands out, so that a program using koffi itself beside tsbpf
 * shares one native module.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { koffi, SYS, syscall3 } from "../../src/sys/libc.js";
import { runInFreshProcess } from "../helpers/fresh-process.js";

const require = createRequire(import.meta.url);

describe("loading koffi", () => {
  it("loads koffi's native module directly on glibc Linux, the same instance koffi's entry exports", () => {
    const ours = koffi();
    const theirs = require("koffi") as { default: unknown; version: string };
    // koffi's entry exports a copy of the native module's functions, with the module as `default`.
    expect(ours).toBe(theirs.default);
    expect(ours.version).toBe(theirs.version);
  });

  it("finds the addon without koffi's entry or require.resolve, and files it where koffi's entry looks", () => {
    // A fresh process: the worker running this file may have loaded koffi's entry already.
    const libc = join(__dirname, "../../src/sys/libc.ts");
    const script = [
      `import { createRequire } from "node:module";`,
      `const { koffi } = await import(${JSON.stringify(libc)});`,
      `const require = createRequire(import.meta.url);`,
      `const ours = koffi();`,
      `const loaded = Object.keys(require.cache);`,
      `const theirs = require("koffi");`,
      `console.log(JSON.stringify({ entry: loaded.some((k) => /koffi[\\/](index|src)/.test(k)), addons: loaded.filter((k) => k.endsWith(".node")), same: ours === theirs.default }));`,
    ].join("\n");
    const r = runInFreshProcess(script);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { entry: boolean; addons: string[]; same: boolean };
    expect(out.entry).toBe(false); // koffi's own loader never ran
    expect(out.addons).toHaveLength(1);
    expect(out.addons[0]).toMatch(/@koromix\/koffi-linux-[a-z0-9]+\/linux_[a-z0-9]+\/koffi\.node$/);
    expect(out.same).toBe(true); // koffi's entry, loaded after, hands out this same module
  });

  it("makes system calls through it", () => {
    expect(syscall3(SYS.getpid, 0, 0, 0)).toBe(process.pid);
  });
});
