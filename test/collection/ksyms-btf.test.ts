/**
 * Objects with kfuncs carry a `.ksyms` DATASEC in their BTF that the kernel refuses as clang
 * writes it (size 0, FUNC members). The loader fixes it, so the BTF loads and programs keep
 * their func info: a bpf_loop callback needs it.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseBtf } from "../../src/btf/spec.js";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

const OBJECT = join(import.meta.dirname, "../../bpf/kfunc_callback.o");

describe(".ksyms fix-up", () => {
  it("gives .ksyms a size and only allocated int VAR members at distinct offsets", () => {
    const spec = CollectionSpec.fromFile(OBJECT);
    const btf = parseBtf(spec.loadableBtf()!);
    const ksyms = [...btf.typesOfKind("datasec")].find((t) => t.name === ".ksyms");
    expect(ksyms).toBeDefined();
    expect(ksyms!.vars.length).toBe(2); // bpf_task_from_pid, bpf_task_release
    expect(ksyms!.size).toBe(8);
    expect(ksyms!.vars.map((m) => m.offset)).toEqual([0, 4]);
    for (const m of ksyms!.vars) {
      const v = btf.typeById(m.type);
      expect(v.kind).toBe("var");
      if (v.kind !== "var") continue;
      expect(v.linkage).toBe("global");
      const int = btf.typeById(v.type);
      expect(int.kind === "int" && int.size === 4).toBe(true);
    }
    // Everything that was there keeps its id: the kfuncs are still FUNCs by name.
    expect([...btf.typesOfKind("func")].map((f) => f.name)).toEqual(expect.arrayContaining(["bpf_task_from_pid", "bpf_task_release", "find_task", "step"]));
  });
});

describeKernel(".ksyms fix-up in the kernel", () => {
  itKernel("loads the object's BTF, so a program with a kfunc and a bpf_loop callback loads and runs", () => {
    const spec = CollectionSpec.fromFile(OBJECT);
    spec.variables.target_pid.value = process.pid;
    using coll = Collection.load(spec);
    expect(coll.btf).toBeDefined();
    expect(coll.programs.find_task.run({}).retval).toBe(0);
    expect(coll.variables.found.value).toBe(1);
    expect(coll.variables.iterations.value).toBe(10);
  });
});
