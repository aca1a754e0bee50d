import { readFileSync } from "node:fs";
import { describe, expect } from "vitest";
import { add64, atomic, call, exit, instructions, jeq, label, ldMapFd, mov64, st } from "../../src/asm/builder.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Program } from "../../src/program/program.js";
import { attachStructOps, createStructOpsMap } from "../../src/link/struct-ops.js";
import { encodeStructOpsValue, structOpsLayout, structOpsProgramTarget } from "../../src/collection/struct-ops.js";
import { describeKernel, it, itKernel } from "./kit.js";
import { connectWithCongestionControl } from "../helpers/tcp.js";

const CC = "tcp_congestion_ops";

function ccProgram(member: string, body: ReturnType<typeof instructions>, maps?: Record<string, BpfMap>): Program {
  const t = structOpsProgramTarget(CC, member);
  return Program.load({ name: `cc_${member}`.slice(0, 15), type: "struct_ops", license: "GPL", attachBtfId: t.attachBtfId, expectedAttachType: t.expectedAttachType, instructions: body }, { maps });
}

function initCounter(inits: BpfMap): Program {
  return ccProgram(
    "init",
    instructions(
      st("u32", "r10", -4, 0),
      ldMapFd("r1", "inits"),
      mov64("r2", "r10"),
      add64("r2", -4),
      call("map_lookup_elem"),
      jeq("r0", 0, "out"),
      mov64("r1", 1),
      atomic("add", "u64", "r0", "r1", 0),
      label("out"),
      mov64("r0", 0),
      exit(),
    ),
    { inits },
  );
}

function count(m: BpfMap): bigint {
  const v = m.get(new Uint8Array(4)) as Uint8Array;
  return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
}

function available(): string[] {
  return readFileSync("/proc/sys/net/ipv4/tcp_available_congestion_control", "utf8").trim().split(/\s+/);
}

describe("struct_ops layout (kernel BTF, no attach)", () => {
  it("places programs and the name where bpf_struct_ops_tcp_congestion_ops has them", () => {
    const layout = structOpsLayout(CC);
    const name = layout.members.get("name")!;
    expect(name.charArray).toBe(16);
    expect(layout.members.get("cong_avoid")!.isFunction).toBe(true);
    const v = encodeStructOpsValue(layout, { cong_avoid: 7 }, { name: "abc" }, "t");
    expect(v.length).toBe(layout.valueSize);
    expect(new DataView(v.buffer).getBigUint64(layout.members.get("cong_avoid")!.offset, true)).toBe(7n);
    expect(new TextDecoder().decode(v.subarray(name.offset, name.offset + 3))).toBe("abc");
    expect(() => encodeStructOpsValue(layout, { nope: 1 }, {}, "t")).toThrow(/no function member "nope"/);
    expect(() => encodeStructOpsValue(layout, {}, { name: "x".repeat(16) }, "t")).toThrow(/longer than 15/);
    expect(structOpsProgramTarget(CC, "ssthresh").expectedAttachType).toBe(layout.members.get("ssthresh")!.index);
  });
});

describeKernel("struct_ops: a TCP congestion control", () => {
  for (const method of ["link", "update"] as const) {
    itKernel(`registers by ${method}, is used by a new connection, and is gone after close`, () => {
      using inits = BpfMap.create({ name: "cc_inits", type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
      using init = ccProgram(
        "init",
        instructions(
          st("u32", "r10", -4, 0),
          ldMapFd("r1", "inits"),
          mov64("r2", "r10"),
          add64("r2", -4),
          call("map_lookup_elem"),
          jeq("r0", 0, "out"),
          mov64("r1", 1),
          atomic("add", "u64", "r0", "r1", 0),
          label("out"),
          mov64("r0", 0),
          exit(),
        ),
        { inits },
      );
      using ssthresh = ccProgram("ssthresh", instructions(mov64("r0", 0x7fffffff), exit()));
      using undo = ccProgram("undo_cwnd", instructions(mov64("r0", 10), exit()));
      using avoid = ccProgram("cong_avoid", instructions(mov64("r0", 0), exit()));
      const name = `tsbpf${method[0]}${process.pid % 100000}`;
      const link = attachStructOps({ type: CC, programs: { init, ssthresh, undo_cwnd: undo, cong_avoid: avoid }, data: { name }, method });
      try {
        expect(link.type).toBe(method === "link" ? "struct_ops" : "struct_ops_map");
        expect(available()).toContain(name);
        expect(connectWithCongestionControl(name)).toBe(name);
        const v = inits.get(new Uint8Array(4)) as Uint8Array;
        expect(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true)).toBeGreaterThanOrEqual(1n);
        if (method === "link") expect(link.info()).toMatchObject({ type: "struct_ops" });
      } finally {
        link.close();
      }
      expect(available()).not.toContain(name);
      expect(() => connectWithCongestionControl(name)).toThrow(/errno 2/); // ENOENT: no such congestion control
    });
  }

  itKernel("a struct_ops link swaps to another map atomically with updateMap", () => {
    using c1 = BpfMap.create({ name: "cc_c1", type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
    using c2 = BpfMap.create({ name: "cc_c2", type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
    using init1 = initCounter(c1);
    using init2 = initCounter(c2);
    using ssthresh = ccProgram("ssthresh", instructions(mov64("r0", 0x7fffffff), exit()));
    using undo = ccProgram("undo_cwnd", instructions(mov64("r0", 10), exit()));
    using avoid = ccProgram("cong_avoid", instructions(mov64("r0", 0), exit()));
    const name = `tsbpfu${process.pid % 100000}`;
    const common = { ssthresh, undo_cwnd: undo, cong_avoid: avoid };
    using link = attachStructOps({ type: CC, programs: { init: init1, ...common }, data: { name } });
    connectWithCongestionControl(name);
    expect(count(c1)).toBe(1n);
    link.updateMap(createStructOpsMap({ type: CC, programs: { init: init2, ...common }, data: { name } }));
    connectWithCongestionControl(name);
    expect([count(c1), count(c2)]).toEqual([1n, 1n]);
    expect(available()).toContain(name);
  });
});
