/**
 * The loader asks the probes instead of version numbers: perf event arrays get the sizes
 * cilium/ebpf gives them, BTF and map flags are adjusted only for a kernel that lacks a kind or
 * flag (on this 6.18 kernel: nothing changes), link or legacy attach follows the link probes.
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
});
