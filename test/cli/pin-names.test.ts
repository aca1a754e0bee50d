/**
 * Pin names for `tsbpf load --pin`: unique and legal in bpffs, by a stable rule; checked by
 * property, by named cases, and against the kernel with objects that reproduce both
 * collisions seen in the wild (bcc biotop's `__x`/`x`, cilium's `.kconfig` map beside a
 * `kconfig` program).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { legalPinName, pinNames, type PinSubject } from "../../src/cli/pin-names.js";
import { describeKernel, hasTool, itKernel, uniqueName } from "../helpers/kernel.js";
import { cli, ROOT } from "./run.js";

const LEGAL = /^[A-Za-z0-9_-]+$/;

describe("pinNames", () => {
  it.each([
    ["keeps leading underscores: __x and x stay apart", [{ kind: "prog", name: "__blk_account_io_start" }, { kind: "prog", name: "blk_account_io_start" }], ["__blk_account_io_start", "blk_account_io_start"]],
    ["the .kconfig map beside the kconfig program becomes kconfig_map", [{ kind: "map", name: ".kconfig" }, { kind: "prog", name: "kconfig" }], ["kconfig_map", "kconfig"]],
    ["dots inside become underscores", [{ kind: "map", name: ".rodata.str1.1" }, { kind: "map", name: ".data.custom" }], ["rodata_str1_1", "data_custom"]],
    ["a map named exactly like a program keeps nothing of the program's", [{ kind: "prog", name: "x" }, { kind: "map", name: "x" }], ["x", "x_map"]],
    ["suffixes count up when taken", [{ kind: "map", name: ".a" }, { kind: "map", name: "a" }, { kind: "map", name: "a_map" }, { kind: "map", name: "-a" }], ["a_map2", "a", "a_map", "-a"]],
    ["an empty result is _", [{ kind: "map", name: "." }], ["_"]],
  ] as const)("%s", (_name, subjects, expected) => {
    const names = pinNames(subjects as readonly PinSubject[]);
    expect(subjects.map((s) => names.get(`${s.kind}:${s.name}`))).toEqual(expected);
  });

  it("refuses the same object twice", () => {
    expect(() => pinNames([{ kind: "prog", name: "a" }, { kind: "prog", name: "a" }])).toThrow(/given twice/);
  });

  it("property: every name is legal in bpffs, all are unique, legal names are kept, and order does not matter", () => {
    const subject = fc.record({ kind: fc.constantFrom("prog" as const, "map" as const), name: fc.string({ unit: fc.constantFrom(..."._-aAb0 .x"), minLength: 1, maxLength: 6 }) });
    fc.assert(
      fc.property(fc.uniqueArray(subject, { selector: (s) => `${s.kind}:${s.name}`, maxLength: 12 }), (subjects) => {
        const names = pinNames(subjects);
        const all = [...names.values()];
        expect(all.every((n) => LEGAL.test(n))).toBe(true);
        expect(new Set(all).size).toBe(all.length);
        const firstLegal = new Set<string>();
        for (const s of [...subjects.filter((x) => x.kind === "prog"), ...subjects.filter((x) => x.kind === "map")]) {
          if (legalPinName(s.name) === s.name && !firstLegal.has(s.name)) {
            firstLegal.add(s.name);
            expect(names.get(`${s.kind}:${s.name}`)).toBe(s.name);
          }
        }
        expect(pinNames([...subjects].reverse())).toEqual(names);
      }),
    );
  });
});

describeKernel("tsbpf load --pin with objects whose names collided", () => {
  itKernel("pins __blk_account_io_start, blk_account_io_start and __blk_account_io_done apart; messages tell the truncated names apart", async () => {
    const dir = `/sys/fs/bpf/${uniqueName("clipin")}`;
    try {
      const r = await cli("load", join(ROOT, "bpf/cli/pin_collide.o"), "--pin", dir, "--json");
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(["__blk_account_io_done", "__blk_account_io_start", "blk_account_io_start", "starts"]);
      const out = JSON.parse(r.out) as { programs: { name: string; kernelName: string; id: number }[] };
      expect(out.programs.map((p) => [p.name, p.kernelName]).sort()).toEqual([
        ["__blk_account_io_done", "__blk_account_i"],
        ["__blk_account_io_start", "__blk_account_i"],
        ["blk_account_io_start", "blk_account_io_"],
      ]);
      // prog show tells them apart by full name (from BTF), as bpftool does.
      for (const p of out.programs) {
        const shown = JSON.parse((await cli("prog", "show", "pinned", join(dir, p.name), "--json")).out) as { id: number; name: string; full_name?: string };
        expect(shown.id).toBe(p.id);
        expect(shown.name).toBe(p.kernelName);
        expect(shown.full_name ?? shown.name).toBe(p.name);
      }
      const byName = JSON.parse((await cli("prog", "show", "name", "__blk_account_io_start", "--json")).out) as { id: number }[];
      expect(byName.map((x) => x.id)).toEqual([out.programs.find((p) => p.name === "__blk_account_io_start")!.id]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  itKernel("pins the .kconfig map and the kconfig program apart, where libbpf also loads and pins both", async () => {
    const dir = `/sys/fs/bpf/${uniqueName("clikcfg")}`;
    try {
      const r = await cli("load", join(ROOT, "bpf/cli/kconfig_name.o"), "--pin", dir);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(["bss", "kconfig", "kconfig_map"]);
      if (hasTool("bpftool", ["version"])) {
        const prog = JSON.parse(execFileSync("bpftool", ["-j", "prog", "show", "pinned", join(dir, "kconfig")], { encoding: "utf8" })) as { name: string };
        expect(prog.name).toBe("kconfig");
        const map = JSON.parse(execFileSync("bpftool", ["-j", "map", "show", "pinned", join(dir, "kconfig_map")], { encoding: "utf8" })) as { name: string };
        expect(map.name).toMatch(/kconfig$/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  itKernel("a pin that fails leaves bpffs as it was", async () => {
    const dir = `/sys/fs/bpf/${uniqueName("cliundo")}`;
    try {
      // A pin left in the way of the third program (pins go in name order): the two pins made
      // before it are removed again.
      const first = await cli("load", join(ROOT, "bpf/cli/pin_collide.o"), "--pin", dir);
      expect(first.code).toBe(0);
      for (const f of ["__blk_account_io_done", "__blk_account_io_start", "starts"]) rmSync(join(dir, f));
      const before = readdirSync(dir).sort();
      const r = await cli("load", join(ROOT, "bpf/cli/pin_collide.o"), "--pin", dir);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/pin as .*: .*EEXIST/);
      expect(before).toEqual(["blk_account_io_start"]);
      expect(readdirSync(dir).sort()).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
