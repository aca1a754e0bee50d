/**
 * struct_ops maps defined in C (bpf/struct_ops.c, `.struct_ops.link`): Collection.load creates
 * the map against the kernel's tcp_congestion_ops, loads the programs for their members and
 * fills the value; attachStructOps(map) registers it; a loopback TCP connection then uses it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { attachStructOps } from "../../src/link/struct-ops.js";
import { structOpsProgramTarget } from "../../src/collection/struct-ops.js";
import { describeKernel, isFdOpen, itKernel, openFdCount } from "../helpers/kernel.js";
import { connectWithCongestionControl } from "../helpers/tcp.js";

const OBJ = join(__dirname, "../../bpf/struct_ops.o");

function available(): string[] {
  return readFileSync("/proc/sys/net/ipv4/tcp_available_congestion_control", "utf8").trim().split(/\s+/);
}

function allowed(): string[] {
  return readFileSync("/proc/sys/net/ipv4/tcp_allowed_congestion_control", "utf8").trim().split(/\s+/);
}

/** The spec with the congestion control renamed (unique per test run), through the editable data bytes. */
function specNamed(name: string): CollectionSpec {
  const spec = CollectionSpec.fromFile(OBJ);
  const m = spec.maps.tsbpf_cc;
  const st = spec.btf!.typeById(m.btfValueTypeId!) as { members: { name: string; bitOffset: number }[] };
  const off = st.members.find((x) => x.name === "name")!.bitOffset / 8;
  m.structOps!.data.fill(0, off, off + 16);
  m.structOps!.data.set(new TextEncoder().encode(name), off);
  return spec;
}

describeKernel("Collection.load: struct_ops maps from .struct_ops.link", () => {
  itKernel("loads the programs for their members, fills the map, registers by link, and the CC is gone after close", () => {
    const name = `tsbpfc${process.pid % 100000}`;
    const coll = Collection.load(specNamed(name));
    let mapFd = -1;
    try {
      const map = coll.maps.tsbpf_cc;
      mapFd = map.fd;
      expect(map.typeName).toBe("struct_ops");
      expect(map.flags & (1 << 13)).not.toBe(0);
      // Each program was loaded for its member, as attachStructOps' own helper computes it.
      for (const [member, prog] of Object.entries({ init: "tsbpf_init", ssthresh: "tsbpf_ssthresh", cong_avoid: "tsbpf_cong_avoid", undo_cwnd: "tsbpf_undo_cwnd" })) {
        expect(coll.programs[prog], prog).toBeDefined();
        expect(structOpsProgramTarget("tcp_congestion_ops", member).expectedAttachType).toBeGreaterThanOrEqual(0);
      }
      // Filled but not registered: BPF_F_LINK waits for the link.
      expect(available()).not.toContain(name);
      const link = attachStructOps(map);
      try {
        expect(link.type).toBe("struct_ops");
        expect(available()).toContain(name);
        // The data member `flags = TCP_CONG_NON_RESTRICTED` reached the kernel's struct.
        expect(allowed()).toContain(name);
        expect(connectWithCongestionControl(name)).toBe(name);
        expect(coll.variables.inits.value).toBeGreaterThanOrEqual(1n); // init ran for the connection
        expect(link.info()).toMatchObject({ type: "struct_ops" });
      } finally {
        link.close();
      }
      expect(available()).not.toContain(name);
      expect(() => connectWithCongestionControl(name)).toThrow(/errno 2/); // ENOENT: no such congestion control
      // The map stays the collection's: registering again works.
      using again = attachStructOps(map);
      expect(connectWithCongestionControl(name)).toBe(name);
      void again;
    } finally {
      coll.close();
    }
    expect(isFdOpen(mapFd)).toBe(false);
    expect(available()).not.toContain(name);
  });

  itKernel("a .struct_ops map (no BPF_F_LINK) registers when loaded and unregisters when the collection closes", () => {
    const name = `tsbpfm${process.pid % 100000}`;
    const spec = specNamed(name);
    spec.maps.tsbpf_cc.flags = 0; // what SEC(".struct_ops") gives
    expect(available()).not.toContain(name);
    const coll = Collection.load(spec);
    try {
      expect(available()).toContain(name);
      expect(connectWithCongestionControl(name)).toBe(name);
      expect(coll.variables.inits.value).toBeGreaterThanOrEqual(1n);
      expect(() => attachStructOps(coll.maps.tsbpf_cc)).toThrow(/not created with BPF_F_LINK/);
    } finally {
      coll.close();
    }
    expect(available()).not.toContain(name);
  });

  itKernel("a struct_ops map passed in options.maps is used as is, and the programs still load for their members", () => {
    using first = Collection.load(specNamed(`tsbpfp${process.pid % 100000}`));
    using second = Collection.load(specNamed(`tsbpfq${process.pid % 100000}`), { maps: { tsbpf_cc: first.maps.tsbpf_cc } });
    expect(second.maps.tsbpf_cc).toBe(first.maps.tsbpf_cc);
    expect(Object.keys(second.programs).sort()).toEqual(["tsbpf_cong_avoid", "tsbpf_init", "tsbpf_ssthresh", "tsbpf_undo_cwnd"]);
    for (const p of Object.values(second.programs)) expect(p.info().type).toBe("struct_ops");
  });

  itKernel("an optional (?.struct_ops.link) map for an ops type the kernel lacks is skipped by default, and refused when asked for", () => {
    const OPT = join(__dirname, "../../bpf/struct_ops_optional.o");
    using coll = Collection.load(CollectionSpec.fromFile(OPT));
    expect(Object.keys(coll.maps)).toEqual([]);
    expect(Object.keys(coll.programs)).toEqual([]);
    const spec = CollectionSpec.fromFile(OPT);
    spec.maps.tsbpf_missing.autocreate = true;
    expect(() => Collection.load(spec)).toThrow(/map "tsbpf_missing": .*the kernel has no struct_ops type "tsbpf_missing_ops"/);
    expect(() => Collection.load(CollectionSpec.fromFile(OPT), { programs: ["tsbpf_missing_run"] })).toThrow(/map "tsbpf_missing": .*the kernel has no struct_ops type/);
  });

  itKernel("refuses an ops type the kernel does not have, naming the map", () => {
    const spec = specNamed(`tsbpfx${process.pid % 100000}`);
    // Rename the local type: no such struct_ops type in the kernel.
    spec.maps.tsbpf_cc.structOps!.typeName = "tsbpf_no_such_ops";
    expect(() => Collection.load(spec)).toThrow(/map "tsbpf_cc": struct_ops "tsbpf_cc" \(tsbpf_no_such_ops\): the kernel has no struct_ops type "tsbpf_no_such_ops"/);
  });

  itKernel("a load without the required members' programs fails at the fill, naming the map, and leaks nothing", () => {
    const spec = specNamed(`tsbpfy${process.pid % 100000}`);
    CollectionSpec.fromFile(OBJ); // warm caches (kernel BTF) so the fd count compares like with like
    const before = openFdCount();
    expect(() => Collection.load(spec, { programs: ["tsbpf_init"] })).toThrow(/map "tsbpf_cc": fill struct_ops tcp_congestion_ops .*EINVAL/);
    expect(openFdCount()).toBe(before);
  });

  itKernel("attachStructOps(map) refuses a map that is not a BPF_F_LINK struct_ops map", () => {
    using coll = Collection.load(specNamed(`tsbpfz${process.pid % 100000}`));
    expect(() => attachStructOps(coll.maps[".bss"])).toThrow(/is a array map, not struct_ops/);
  });
});
