/** The /proc/kallsyms reader on files of the same format, and on the real file (as root). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clearKallsymsCache, kallsymsLookup } from "../../../src/btf/core/kallsyms.js";
import { itKernel } from "../../helpers/kernel.js";

const dir = mkdtempSync(join(tmpdir(), "tsbpf-kallsyms-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string) => {
  const p = join(dir, `k${n++}`);
  writeFileSync(p, text);
  return p;
};

describe("kallsymsLookup", () => {
  it("finds the names asked for, module symbols included, and leaves out the rest", () => {
    const p = file("ffffffff81000000 T _stext\nffffffff81234560 t helper_a\nffffffffc0001000 t mod_fn\t[tsbpf_mod]\n");
    const r = kallsymsLookup(["helper_a", "mod_fn", "absent"], p);
    expect(r).toEqual(new Map([["helper_a", 0xffffffff81234560n], ["mod_fn", 0xffffffffc0001000n]]));
  });

  it("refuses a name with several addresses, and an all-zero file (kptr_restrict)", () => {
    const dup = file("ffffffff81000010 t dup\nffffffff81000020 t dup\nffffffff81000030 T other\n");
    expect(() => kallsymsLookup(["dup"], dup)).toThrow(/ksym "dup": .* has 2 symbols of this name \(0xffffffff81000010, 0xffffffff81000020\)/);
    expect(kallsymsLookup(["other"], dup).get("other")).toBe(0xffffffff81000030n);
    const zero = file("0000000000000000 T _stext\n0000000000000000 t helper\n");
    expect(() => kallsymsLookup(["helper"], zero)).toThrow(/shows every address as 0/);
  });

  it("reads a file once per name", () => {
    const p = file("ffffffff81000040 t once\n");
    expect(kallsymsLookup(["once"], p).get("once")).toBe(0xffffffff81000040n);
    writeFileSync(p, "ffffffff81000050 t once\n");
    expect(kallsymsLookup(["once"], p).get("once")).toBe(0xffffffff81000040n); // cached
    clearKallsymsCache();
    expect(kallsymsLookup(["once"], p).get("once")).toBe(0xffffffff81000050n);
  });

  itKernel("agrees with /proc/kallsyms for a unique kernel function", () => {
    const line = readFileSync("/proc/kallsyms", "latin1").split("\n").find((l) => / T bpf_prog_put$/.test(l))!;
    expect(kallsymsLookup(["bpf_prog_put"]).get("bpf_prog_put")).toBe(BigInt(`0x${line.split(" ")[0]}`));
  });
});
