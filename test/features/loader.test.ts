/**
 * The loader asks the probes instead of version numbers: perf event arrays get the sizes
 * cilium/ebpf gives them, BTF and map flags are adjusted only for a kernel that lacks a kind or
 * flag (on this 6.18 kernel: nothing changes), link or legacy attach follows the link probes.
 * BTF and map flags are offered as the object declares them first: the probes run only when the
 * kernel refuses them.
 */
import { join } from "node:path";
import { expect } from "vitest";
import { Collection } from "../../src/collection/collection.js";
import { btfForKernel, mapFlagsForKernel } from "../../src/collection/kernel-fallbacks.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { probeBpfLinks, probeLinkKind, probeMapFlag } from "../../src/features/index.js";
import { possibleCpus } from "../../src/map/possible-cpus.js";
import { MapFlags } from "../../src/spec/map-spec.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { repoRoot } from "../helpers/docs.js";
import { runInFreshProcess } from "../helpers/fresh-process.js";
import { Btf } from "../../src/map/btf.js";

const OBJ = join(__dirname, "../../bpf/features/perf_sizes.o");

describeKernel("the loader uses probes", () => {
  itKernel("a perf event array that leaves key, value and size out gets u32/u32 and one slot per possible CPU", () => {
    const spec = CollectionSpec.fromFile(OBJ);
    expect(spec.maps.events).toMatchObject({ type: "perf_event_array" });
    expect(spec.maps.events.keySize ?? 0).toBe(0); // the object says nothing
    using coll = Collection.load(spec);
    const m = coll.maps.events;
    expect([m.keySize, m.valueSize, m.maxEntries]).toEqual([4, 4, possibleCpus()]);
    expect(coll.programs.emit.run({ data: new Uint8Array(64) }).retval).toBe(2); // XDP_PASS
  });

  itKernel("BTF goes to the kernel unchanged when every BTF kind probes supported", () => {
    const blob = CollectionSpec.fromFile(OBJ).loadableBtf()!;
    expect(btfForKernel(blob)).toBe(blob);
  });

  itKernel("map flags are kept when the kernel knows them (and dropped only when it does not)", () => {
    const flags = MapFlags.MMAPABLE | MapFlags.RDONLY_PROG;
    const kept = (["MMAPABLE", "RDONLY_PROG"] as const).every((f) => probeMapFlag(f).status !== "unsupported");
    expect(kept).toBe(true);
    expect(mapFlagsForKernel(flags)).toBe(flags);
  });

  itKernel("cgroup and perf event attach take links here, because the link probes found them", () => {
    expect(probeBpfLinks().status).toBe("supported");
    expect(probeLinkKind("perf_event")).toMatchObject({ status: "supported", minKernel: "5.15" });
  });

  itKernel("a kernel that takes the objects' BTF and map flags as declared runs no probe for them", () => {
    // A fresh process: probes are cached per process, and other tests here have run them.
    const objects = ["global_data", "histogram", "subprograms", "bench_many"].map((n) => join(repoRoot, "bpf", `${n}.o`));
    const script = [
      `import { Collection } from ${JSON.stringify(join(repoRoot, "src/collection/collection.ts"))};`,
      `import { CollectionSpec } from ${JSON.stringify(join(repoRoot, "src/elf/collection-spec.ts"))};`,
      `import { probeBodiesRun } from ${JSON.stringify(join(repoRoot, "src/features/probe.ts"))};`,
      `const out = {};`,
      `for (const f of ${JSON.stringify(objects)}) {`,
      `  const c = Collection.load(CollectionSpec.fromFile(f));`,
      `  out[f] = { btf: c.btf !== undefined, rodataFlags: Object.hasOwn(c.maps, ".rodata") ? c.maps[".rodata"].flags : null };`,
      `  c.close();`,
      `}`,
      `console.log(JSON.stringify({ probes: probeBodiesRun(), out }));`,
    ].join("\n");
    const r = runInFreshProcess(script);
    expect(r.stderr).toBe("");
    const { probes, out } = JSON.parse(r.stdout) as { probes: number; out: Record<string, { btf: boolean; rodataFlags: number | null }> };
    expect(probes).toBe(0);
    for (const f of objects) expect(out[f].btf, f).toBe(true);
    // .rodata kept what the object asked for: mmap-able, read-only for programs
    expect(out[objects[0]].rodataFlags! & (MapFlags.MMAPABLE | MapFlags.RDONLY_PROG)).toBe(MapFlags.MMAPABLE | MapFlags.RDONLY_PROG);
  });

  itKernel("BTF the kernel refuses sends the loader to the probes, and the collection loads without BTF", () => {
    const spec = CollectionSpec.fromFile(join(repoRoot, "bpf/global_data.o"));
    // The loader's own copy (computed once per spec), spoilt in place: a string offset past the
    // string section, which the kernel's BTF checker refuses (EINVAL).
    const bad = spec.loadableBtf()!;
    const view = new DataView(bad.buffer, bad.byteOffset, bad.byteLength);
    const typeOff = view.getUint32(8, true) + view.getUint32(4, true);
    view.setUint32(typeOff, 0x7fffff, true); // the first type's name_off
    expect(() => Btf.load(bad).close()).toThrow(/BPF_BTF_LOAD/);
    using coll = Collection.load(spec);
    expect(coll.btf).toBeUndefined();
    expect(coll.programs.count_packets.run({ data: new Uint8Array(64) }).retval).toBe(2); // XDP_PASS
    expect(coll.variables.packets.value).toBe(1n); // global data works without kernel BTF
  });
});
