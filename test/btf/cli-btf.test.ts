import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { cli } from "../cli/run.js";
import { hasBpftool } from "./helpers/bpftool-json.js";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

const run = (args: string[]) => cli("btf", ...args);

describe("tsbpf btf dump", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it.skipIf(!hasBpftool)("prints raw BTF as bpftool does, from a BTF file and from an object", async () => {
    const r = await run(["dump", join(fixtures, "kinds.bpfel.btf")]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(execFileSync("bpftool", ["btf", "dump", "file", join(fixtures, "kinds.bpfel.btf")]).toString());
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-cli-btf-"));
    dirs.push(dir);
    execFileSync("clang-19", ["-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c", join(fixtures, "kinds.c"), "-o", join(dir, "kinds.o")]);
    const o = await run(["dump", join(dir, "kinds.o"), "--format", "raw"]);
    expect(o.out).toBe(execFileSync("bpftool", ["btf", "dump", "file", join(dir, "kinds.o")]).toString());
  });

  it("prints C with bpftool's spelling of the option too", async () => {
    const a = await run(["dump", join(fixtures, "kinds.bpfel.btf"), "--format", "c"]);
    const b = await run(["dump", join(fixtures, "kinds.bpfel.btf"), "format", "c"]);
    expect(a.code).toBe(0);
    expect(a.out).toContain("struct holder {");
    expect(a.out).toContain("#ifndef __KINDS_BPFEL_BTF_H__");
    expect(b.out).toBe(a.out);
  });

  it("dumps split BTF saved to a file on top of the base given with --base", async () => {
    const { BtfBuilder } = await import("../../src/btf/marshal.js");
    const { parseBtf } = await import("../../src/btf/spec.js");
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-cli-btf-"));
    dirs.push(dir);
    const basePath = join(fixtures, "kinds.bpfel.btf");
    const base = parseBtf(readFileSync(basePath));
    const b = new BtfBuilder({ base });
    const id = b.add({ kind: "struct", name: "mod_state", size: 8, members: [{ name: "bits", type: base.typeByName("bits_t", "typedef")!.id, bitOffset: 0, bitfieldSize: 0 }] });
    writeFileSync(join(dir, "mod.btf"), b.marshal());
    const r = await run(["dump", join(dir, "mod.btf"), "--base", basePath]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n")).toEqual([
      `[${id}] STRUCT 'mod_state' size=8 vlen=1`,
      `\t'bits' type_id=${base.typeByName("bits_t", "typedef")!.id} bits_offset=0`,
    ]);
    expect((await run(["dump", join(dir, "mod.btf"), "--base"])).code).toBe(2);
  });

  it("refuses bad usage with exit 2 and malformed input with one line, exit 1", async () => {
    expect((await run(["dump"])).code).toBe(2);
    expect((await run(["dump", "x", "--format", "json"])).code).toBe(2);
    expect((await run(["frobnicate"])).code).toBe(2);
    expect((await run(["dump", "x", "--bogus"])).err).toContain("Unknown option '--bogus'");
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-cli-btf-"));
    dirs.push(dir);
    writeFileSync(join(dir, "junk.btf"), new Uint8Array(30));
    const junk = await run(["dump", join(dir, "junk.btf")]);
    expect(junk.code).toBe(1);
    expect(junk.err).toMatch(/^tsbpf btf dump: BTF: bad magic/);
  });
});
