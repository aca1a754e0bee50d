/**
 * `tsbpf btf list/show` against the kernel and bpftool; `btf dump` of vmlinux as a header
 * that declares the kernel's kfuncs, so a libbpf-tools-style program calling
 * bpf_task_from_pid compiles against it (and loads); `btf dump --json` against `bpftool -j btf dump`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { Btf } from "../../src/map/btf.js";
import { describeKernel, hasKernelBtf, hasTool, itKernel } from "../helpers/kernel.js";
import { bpfObjects } from "../gen/cases.js";
import { cli } from "./run.js";

const PROGRAM = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u32 found = 0;

SEC("syscall")
int find_init(void *ctx)
{
	struct task_struct *t = bpf_task_from_pid(bpf_get_current_pid_tgid() >> 32);
	if (!t)
		return 1;
	found = t->tgid;
	bpf_task_release(t);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

describeKernel("tsbpf btf", () => {
  itKernel("list and show give the library's Btf.list() with bpftool's fields", async () => {
    const lib = Btf.list();
    const vmlinux = lib.find((b) => b.name === "vmlinux");
    expect(vmlinux?.kernelBtf).toBe(true);
    const ours = JSON.parse((await cli("btf", "list", "-j")).out) as { id: number; size: number; name?: string; kernel: boolean }[];
    const mine = ours.find((b) => b.id === vmlinux!.id);
    expect(mine).toMatchObject({ id: vmlinux!.id, size: vmlinux!.size, name: "vmlinux", kernel: true });
    if (hasTool("bpftool", ["version"])) {
      const theirs = JSON.parse(execFileSync("bpftool", ["-j", "btf", "show", "id", String(vmlinux!.id)], { encoding: "utf8" })) as Record<string, unknown>;
      for (const k of ["id", "size", "name"]) expect([k, (mine as Record<string, unknown>)[k]]).toEqual([k, theirs[k]]);
    }
    expect(JSON.parse((await cli("btf", "show", String(vmlinux!.id), "-j")).out)).toEqual(mine);
    using b = Btf.fromId(vmlinux!.id);
    expect(b.info()).toEqual(vmlinux);
  });

  itKernel("show gives bpftool's whole answer for a program's BTF, prog_ids and map_ids included", async () => {
    using coll = Collection.load(CollectionSpec.fromFile("bpf/global_data.o"));
    const btfId = Object.values(coll.programs)[0]!.info().btfId;
    expect(btfId).toBeGreaterThan(0);
    hasTool("bpftool", ["version"]);
    const theirs = JSON.parse(execFileSync("bpftool", ["-j", "btf", "show", "id", String(btfId)], { encoding: "utf8" })) as Record<string, unknown>;
    const ours = JSON.parse((await cli("btf", "show", String(btfId), "-j")).out) as Record<string, unknown>;
    // bpftool lists the ids in its hash table's order; ours are in id order
    const byId = (ids: unknown): number[] => [...(ids as number[])].sort((a, b) => a - b);
    expect(ours).toEqual({ ...theirs, prog_ids: byId(theirs.prog_ids), map_ids: byId(theirs.map_ids) });
    expect(ours.prog_ids).toEqual(Object.values(coll.programs).map((p) => p.info().id).sort((a, b) => a - b));
    expect((ours.map_ids as number[]).length).toBeGreaterThan(0);
    const listed = (JSON.parse((await cli("btf", "list", "-j")).out) as { id: number }[]).find((x) => x.id === btfId);
    expect(listed).toEqual(ours);
  });

  (hasKernelBtf ? itKernel : itKernel.skip)("dump writes C when a header is asked for, with kfunc prototypes a program compiles against", async () => {
    hasTool("clang-19");
    const dir = mkdtempSync(join(tmpdir(), "cli-btf-"));
    try {
      // --output X.h asks for a header: C without --format.
      const r = await cli("btf", "dump", "/sys/kernel/btf/vmlinux", "--output", join(dir, "vmlinux.h"));
      expect(r.code).toBe(0);
      const header = readFileSync(join(dir, "vmlinux.h"), "utf8");
      expect(header).toMatch(/^#ifndef __VMLINUX_H__$/m);
      expect(header).toMatch(/^#ifndef BPF_NO_KFUNC_PROTOTYPES$/m);
      expect(header).toContain("extern struct task_struct *bpf_task_from_pid(s32 pid) __weak __ksym;");
      // Redirecting stdout to a .h file asks for a header too.
      execFileSync("sh", ["-c", `${process.execPath} --import tsx src/cli/main.ts btf dump /sys/kernel/btf/vmlinux > ${join(dir, "redirected.h")}`], { cwd: join(import.meta.dirname, "../..") });
      expect(readFileSync(join(dir, "redirected.h"), "utf8")).toBe(header);
      writeFileSync(join(dir, "find_init.bpf.c"), PROGRAM);
      execFileSync("clang-19", ["-O2", "-g", "-target", "bpf", `-I${dir}`, "-I/usr/include/x86_64-linux-gnu", "-c", join(dir, "find_init.bpf.c"), "-o", join(dir, "find_init.bpf.o")]);
      using coll = Collection.load(CollectionSpec.fromFile(join(dir, "find_init.bpf.o")));
      expect(coll.programs.find_init.run({}).retval).toBe(0);
      expect(coll.variables.found.value).toBe(process.pid);
      // Without the prototypes (BPF_NO_KFUNC_PROTOTYPES), the same program does not compile.
      const refused = (() => {
        try {
          execFileSync("clang-19", ["-O2", "-g", "-target", "bpf", "-DBPF_NO_KFUNC_PROTOTYPES", `-I${dir}`, "-I/usr/include/x86_64-linux-gnu", "-c", join(dir, "find_init.bpf.c"), "-o", join(dir, "x.o")], { stdio: "pipe" });
          return "";
        } catch (e) {
          return String((e as { stderr?: Buffer }).stderr);
        }
      })();
      expect(refused).toContain("bpf_task_from_pid");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("tsbpf btf dump --json", () => {
  const bpftool = hasTool("bpftool", ["version"]);
  const theirs = (file: string) => JSON.parse(execFileSync("bpftool", ["-j", "btf", "dump", "file", file], { encoding: "utf8", maxBuffer: 64 << 20 })) as { types: { kind: string; values?: { val: number }[] }[] };
  const ours = async (...args: string[]) => {
    const r = await cli("btf", "dump", ...args, "--json");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    return JSON.parse(r.out) as { types: { kind: string; values?: { val: number }[] }[] };
  };

  it.runIf(bpftool)("is bpftool -j's JSON of the raw format, type for type, for every object in bpf/", async () => {
    const objects = bpfObjects();
    expect(objects.length).toBeGreaterThan(50);
    for (const o of objects) {
      const r = await cli("btf", "dump", o, "--json");
      if (r.code !== 0) {
        expect(r.err, o).toMatch(/has no \.BTF section/);
        continue;
      }
      expect(JSON.parse(r.out), o).toEqual(theirs(o));
    }
  });

  it.runIf(bpftool && hasKernelBtf)("of vmlinux (bpftool 7.1 sign-extends unsigned 32-bit enum values past 2^31: those are compared with its text)", async () => {
    const a = await ours("/sys/kernel/btf/vmlinux");
    const b = theirs("/sys/kernel/btf/vmlinux");
    expect(a.types).toHaveLength(b.types.length);
    let quirks = 0;
    a.types.forEach((t, i) => {
      const u = b.types[i]!;
      if (t.kind !== "ENUM" || !u.values?.some((v) => v.val > 2 ** 32)) return;
      quirks++;
      // ours are u32 as bpftool's text prints them (val=4026531839); the rest must match
      expect(t.values!.every((v) => v.val >= 0 && v.val < 2 ** 32)).toBe(true);
      t.values = u.values = [];
    });
    expect(a).toEqual(b);
    expect(quirks).toBeLessThan(100);
  });

  it("refuses --json with C (bpftool has no JSON for it either), exit 2", async () => {
    const r = await cli("btf", "dump", "bpf/global_data.o", "--format", "c", "--json");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^tsbpf btf dump: --json prints the raw format; C has no JSON form/);
  });
});
