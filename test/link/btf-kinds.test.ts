import { closeSync, mkdirSync, openSync, rmdirSync } from "node:fs";
import { openPath } from "../../src/sys/fd.js";
import { uniqueName } from "../helpers/kernel.js";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { call, exit, instructions, jeq, label, ldx, mov64, add64, st, stx } from "../../src/asm/builder.js";
import { isBpfError } from "../../src/errors.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Program, type StatsHandle } from "../../src/program/program.js";
import type { AttachTypeName, ProgramTypeName } from "../../src/spec/program-type.js";
import { btfTargetName, kernelBtf, kernelBtfTarget } from "../../src/link/btf-target.js";
import { attachIter, encodeIterInfo } from "../../src/link/iter.js";
import { attachTpBtf } from "../../src/link/raw-tracepoint.js";
import { encodeLinkCreate, LINK_CREATE_SIZE } from "../../src/sys/link-attr.js";
import { machineRefusalReason, machineRefuses, refusalCode, refusalCodeOf } from "../helpers/probes.js";
import { describeKernel, it, itKernel } from "./kit.js";
import { runs } from "./progs.js";

let stats: StatsHandle;
beforeAll(() => {
  if (process.getuid?.() === 0) stats = Program.enableStats();
});
afterAll(() => stats?.close());

describe("BTF attach targets (no kernel needed)", () => {
  it("names each kind's target as the kernel's BTF does", () => {
    expect(btfTargetName("fentry", "do_unlinkat")).toEqual({ name: "do_unlinkat", btfKind: "func" });
    expect(btfTargetName("lsm", "file_open")).toEqual({ name: "bpf_lsm_file_open", btfKind: "func" });
    expect(btfTargetName("tp_btf", "sched_switch")).toEqual({ name: "btf_trace_sched_switch", btfKind: "typedef" });
    expect(btfTargetName("iter", "task")).toEqual({ name: "bpf_iter_task", btfKind: "func" });
    expect(btfTargetName("struct_ops", "tcp_congestion_ops")).toEqual({ name: "tcp_congestion_ops", btfKind: "struct" });
    expect(() => btfTargetName("fentry", "a b")).toThrow(TypeError);
  });
  it("lays out the freplace and tracing variants of link_create", () => {
    const v = new DataView(new ArrayBuffer(LINK_CREATE_SIZE));
    encodeLinkCreate({ progFd: 5, target: 9, attachType: 0, flags: 0, extra: { kind: "tracing", targetBtfId: 77, cookie: 0x1122n } }, v);
    expect([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(16, true), v.getBigUint64(24, true)]).toEqual([5, 9, 77, 0x1122n]);
    encodeLinkCreate({ progFd: 1, target: 0, attachType: 28, flags: 0, extra: { kind: "iter", iterInfo: encodeIterInfo({ task: { tid: 42 } }), iterInfoLen: 16 } }, v);
    expect(v.getUint32(24, true)).toBe(16);
    expect(v.getBigUint64(16, true)).not.toBe(0n);
  });
  it("encodes iterator scopes", () => {
    const t = encodeIterInfo({ task: { pid: 7 } })!;
    expect([t.view.getUint32(0, true), t.view.getUint32(4, true)]).toEqual([0, 7]);
    const c = encodeIterInfo({ cgroup: { id: 5n, order: "descendants_pre" } })!;
    expect([c.view.getUint32(0, true), c.view.getBigUint64(8, true)]).toEqual([2, 5n]);
    expect(encodeIterInfo({})).toBeUndefined();
    expect(() => encodeIterInfo({ task: { tid: 1, pid: 2 } })).toThrow(/exactly one/);
    expect(() => encodeIterInfo({ map: 3, task: { tid: 1 } })).toThrow(/at most one/);
  });
});

describeKernel("kernel BTF targets", () => {
  itKernel("finds fentry, lsm, tp_btf, iter and struct_ops targets in vmlinux", () => {
    const btf = kernelBtf();
    for (const [kind, target] of [["fentry", "do_unlinkat"], ["lsm", "file_open"], ["tp_btf", "sys_enter"], ["iter", "task"], ["struct_ops", "tcp_congestion_ops"]] as const) {
      const id = kernelBtfTarget(kind, target);
      expect(btf.nameOf(id)).toBe(btfTargetName(kind, target).name);
    }
    expect(() => kernelBtfTarget("fentry", "no_such_function_x")).toThrow(/no func named no_such_function_x in the kernel's BTF/);
  });
});

function pidOffset(): number {
  const btf = kernelBtf();
  const id = btf.idsByName("task_struct", "struct")[0]!;
  const t = btf.typeOfKind(id, "struct");
  return t.members.find((m) => m.name === "pid")!.bitOffset / 8;
}

describeKernel("iter", () => {
  itKernel("runs a task iterator scoped to this thread and reads the pid it wrote", () => {
    using prog = Program.load({
      name: "iter_pid",
      type: "tracing",
      expectedAttachType: "trace_iter",
      attachBtfId: kernelBtfTarget("iter", "task"),
      license: "GPL",
      instructions: instructions(
        ldx("u64", "r6", "r1", 0), // ctx->meta
        ldx("u64", "r7", "r1", 8), // ctx->task
        jeq("r7", 0, "out"),
        ldx("u32", "r2", "r7", pidOffset()),
        stx("u32", "r10", "r2", -8),
        ldx("u64", "r1", "r6", 0), // meta->seq
        mov64("r2", "r10"),
        add64("r2", -8),
        mov64("r3", 4),
        call("seq_write"),
        label("out"),
        mov64("r0", 0),
        exit(),
      ),
    });
    using one = attachIter(prog, { task: { tid: process.pid } });
    const out = one.read();
    expect(out.length).toBe(4);
    expect(new DataView(out.buffer).getUint32(0, true)).toBe(process.pid);
    expect(one.info()).toMatchObject({ type: "iter", target: "task" });
    // Unscoped: every task, including ours.
    using all = attachIter(prog);
    const bytes = all.read();
    const pids = Array.from({ length: bytes.length / 4 }, (_, i) => new DataView(bytes.buffer).getUint32(i * 4, true));
    expect(pids.length).toBeGreaterThan(10);
    expect(pids).toContain(process.pid);
    all.close();
    expect(() => all.read()).toThrow(/closed/);
  });
});

describeKernel("iter over map elements", () => {
  itKernel("writes every key and value of a hash map, scoped to that map (or is refused exactly as probed)", () => {
    using map = BpfMap.create({ name: "iter_src", type: "hash", keySize: 4, valueSize: 8, maxEntries: 8 });
    const kv = (k: number, v: bigint) => {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, k, true);
      const val = new Uint8Array(8);
      new DataView(val.buffer).setBigUint64(0, v, true);
      map.set(key, val);
    };
    kv(1, 100n);
    kv(7, 700n);
    kv(9, 900n);
    const seqWrite = (reg: "r7" | "r8", len: number) => [ldx("u64", "r1", "r6", 0), mov64("r2", reg), mov64("r3", len), call("seq_write")];
    const load = () => Program.load({
      name: "iter_elems",
      type: "tracing",
      expectedAttachType: "trace_iter",
      attachBtfId: kernelBtfTarget("iter", "bpf_map_elem"),
      license: "GPL",
      instructions: instructions(
        ldx("u64", "r6", "r1", 0), // meta
        ldx("u64", "r7", "r1", 16), // key
        ldx("u64", "r8", "r1", 24), // value
        jeq("r7", 0, "out"),
        jeq("r8", 0, "out"),
        ...seqWrite("r7", 4),
        ...seqWrite("r8", 8),
        label("out"),
        mov64("r0", 0),
        exit(),
      ),
    });
    const refused = machineRefuses("iterMapElem");
    if (refused) {
      expect(refusalCodeOf(() => load().close())).toBe(refused.code);
      return;
    }
    using prog = load();
    using it = attachIter(prog, { map });
    expect(it.info()).toMatchObject({ type: "iter", target: "bpf_map_elem", mapId: map.info().id });
    const out = it.read();
    const v = new DataView(out.buffer);
    const pairs = Array.from({ length: out.length / 12 }, (_, i) => [v.getUint32(i * 12, true), v.getBigUint64(i * 12 + 4, true)] as const);
    expect(pairs.sort((a, b) => a[0] - b[0])).toEqual([[1, 100n], [7, 700n], [9, 900n]]);
    // A stream reads the same bytes.
    using stream = it.openStream();
    expect(stream.closed).toBe(false);
  });
});

describeKernel("iter over cgroups", () => {
  itKernel("walks one cgroup, or it and its descendants, by the order given", () => {
    const root = `/sys/fs/cgroup/unified/${uniqueName("tsbpf_itcg")}`;
    mkdirSync(root);
    mkdirSync(`${root}/a`);
    mkdirSync(`${root}/b`);
    try {
      using prog = Program.load({
        name: "iter_cg",
        type: "tracing",
        expectedAttachType: "trace_iter",
        attachBtfId: kernelBtfTarget("iter", "cgroup"),
        license: "GPL",
        instructions: instructions(
          ldx("u64", "r6", "r1", 0), // meta
          ldx("u64", "r7", "r1", 8), // cgroup
          jeq("r7", 0, "out"),
          st("u8", "r10", -8, 0x63), // "c"
          ldx("u64", "r1", "r6", 0),
          mov64("r2", "r10"),
          add64("r2", -8),
          mov64("r3", 1),
          call("seq_write"),
          label("out"),
          mov64("r0", 0),
          exit(),
        ),
      });
      using dir = openPath(root, 0o200000 /* O_DIRECTORY */);
      using self = attachIter(prog, { cgroup: { fd: dir.value, order: "self_only" } });
      expect(self.readText()).toBe("c");
      using all = attachIter(prog, { cgroup: { fd: dir.value, order: "descendants_pre" } });
      expect(all.readText()).toBe("ccc");
    } finally {
      rmdirSync(`${root}/a`);
      rmdirSync(`${root}/b`);
      rmdirSync(root);
    }
  });
});

describeKernel("tp_btf", () => {
  itKernel("counts syscalls through btf_trace_sys_enter and stops after close", () => {
    using prog = Program.load({
      name: "tpbtf_enter",
      type: "tracing",
      expectedAttachType: "trace_raw_tp",
      attachBtfId: kernelBtfTarget("tp_btf", "sys_enter"),
      license: "GPL",
      instructions: instructions(mov64("r0", 0), exit()),
    });
    const link = attachTpBtf(prog);
    try {
      // The kernel reports tp_btf links as raw tracepoint links, named by the tracepoint.
      expect(link.info()).toMatchObject({ type: "raw_tracepoint", tracepoint: "sys_enter", programId: prog.info().id });
      const before = runs(prog);
      for (let i = 0; i < 10; i++) closeSync(openSync("/proc/self/stat", "r"));
      expect(runs(prog) - before).toBeGreaterThanOrEqual(20n);
    } finally {
      link.close();
    }
    const after = runs(prog);
    closeSync(openSync("/proc/self/stat", "r"));
    expect(runs(prog)).toBe(after);
  });
});

describeKernel("freplace on this machine", () => {
  itKernel("an ext program replacing a function of another program is refused at load with EPERM", () => {
    using target = Program.load({ name: "fr_target", type: "xdp", license: "GPL", instructions: instructions(mov64("r0", 2), exit()) });
    let err: unknown;
    try {
      Program.load({ name: "fr_ext", type: "ext", attachTarget: target, attachBtfId: 1, license: "GPL", instructions: instructions(mov64("r0", 2), exit()) }).close();
    } catch (e) {
      err = e;
    }
    expect(isBpfError(err)).toBe(true);
    expect((err as { code: string }).code).toBe(refusalCode("trampolines"));
  });
});

describeKernel(`trampolines on this machine (known limit: ${machineRefusalReason("trampolines")})`, () => {
  const cases: Array<[string, ProgramTypeName, AttachTypeName, number | (() => number)]> = [
    ["fentry", "tracing", "trace_fentry", () => kernelBtfTarget("fentry", "do_unlinkat")],
    ["fexit", "tracing", "trace_fexit", () => kernelBtfTarget("fexit", "do_unlinkat")],
    ["fmod_ret", "tracing", "modify_return", () => kernelBtfTarget("fmod_ret", "security_file_open")],
    ["lsm", "lsm", "lsm_mac", () => kernelBtfTarget("lsm", "file_open")],
  ];
  cases.push(["lsm_cgroup", "lsm", "lsm_cgroup", () => kernelBtfTarget("lsm", "socket_bind")]);
  for (const [name, type, eat, id] of cases) {
    itKernel(`${name} programs are refused at load with EPERM`, () => {
      let err: unknown;
      try {
        Program.load({ name: `t_${name}`, type, expectedAttachType: eat, attachBtfId: typeof id === "function" ? id() : id, license: "GPL", instructions: instructions(mov64("r0", 0), exit()) }).close();
      } catch (e) {
        err = e;
      }
      expect(isBpfError(err)).toBe(true);
      expect((err as { code: string; command: string }).code).toBe(refusalCode("trampolines"));
      expect((err as { command: string }).command).toBe("BPF_PROG_LOAD");
    });
  }
});
