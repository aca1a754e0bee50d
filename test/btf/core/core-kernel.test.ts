/**
 * CO-RE and ksyms against this machine's kernel: the objects in bpf/core/ are loaded through
 * Collection.load (which applies relocations at load), run by BPF_PROG_TEST_RUN, and the
 * values they computed are compared with what the kernel's BTF says.
 */
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CoreTargets } from "../../../src/btf/core/candidates.js";
import { CorePoisonError } from "../../../src/btf/core/poison.js";
import { kernelBtf } from "../../../src/features/kernel-btf.js";
import type { BtfSpec } from "../../../src/btf/spec.js";
import { skipQualifiers, typeSize } from "../../../src/btf/query.js";
import { Collection } from "../../../src/collection/collection.js";
import { CollectionSpec } from "../../../src/elf/collection-spec.js";
import { attachIter } from "../../../src/link/iter.js";
import { attachTpBtf } from "../../../src/link/raw-tracepoint.js";
import { syscall3 } from "../../../src/sys/libc.js";
import { describeKernel, itKernel } from "../../helpers/kernel.js";
import { KNOWN_LIMITS } from "../../helpers/known-limits.js";

const obj = (name: string) => fileURLToPath(new URL(`../../../bpf/core/${name}.o`, import.meta.url));

/** Bit offset and member of `path` in struct `name` of `btf`, looking through anonymous members. */
function member(btf: BtfSpec, name: string, path: string[]): { bitOffset: number; type: number; bitfieldSize: number } {
  let id = btf.idsByName(name, "struct")[0];
  let off = 0;
  let last = { bitOffset: 0, type: id, bitfieldSize: 0 };
  for (const field of path) {
    const find = (tid: number, base: number): typeof last | undefined => {
      const t = skipQualifiers(btf, tid);
      if (t.kind !== "struct" && t.kind !== "union") return undefined;
      for (const m of t.members) {
        if (m.name === field) return { bitOffset: base + m.bitOffset, type: m.type, bitfieldSize: m.bitfieldSize };
        if (m.name === "") {
          const inner = find(m.type, base + m.bitOffset);
          if (inner) return inner;
        }
      }
      return undefined;
    };
    const found = find(id, off);
    if (!found) throw new Error(`${name} has no ${path.join(".")}`);
    last = found;
    off = found.bitOffset;
    id = found.type;
  }
  return last;
}

/** The fields of global struct `varName` (all u64 but char arrays) decoded from the live .bss. */
function readResults(coll: Collection, spec: CollectionSpec, varName: string): Record<string, bigint | Uint8Array> {
  const v = spec.variables[varName];
  const bytes = coll.maps[".bss"].get(new Uint8Array(4)) as Uint8Array;
  const btf = spec.btf!;
  const t = skipQualifiers(btf, v.typeId);
  if (t.kind !== "struct") throw new Error("results is not a struct");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, bigint | Uint8Array> = {};
  for (const m of t.members) {
    const at = v.offset + m.bitOffset / 8;
    const size = typeSize(btf, m.type);
    out[m.name] = size === 8 ? view.getBigUint64(at, true) : bytes.slice(at, at + size);
  }
  return out;
}

function kallsymsAddress(name: string): bigint {
  for (const line of readFileSync("/proc/kallsyms", "latin1").split("\n")) {
    const [addr, , sym] = line.split(/\s+/);
    if (sym === name) return BigInt(`0x${addr}`);
  }
  throw new Error(`${name} not in kallsyms`);
}

describeKernel("CO-RE against the running kernel", () => {
  const kernel = kernelBtf();

  itKernel("task_struct fields, types and enums relocate and read the right values (syscall program)", () => {
    const spec = CollectionSpec.fromFile(obj("core_task"));
    using coll = Collection.load(spec);
    const r0 = coll.programs.core_task.run();
    expect(r0.retval).toBe(0);
    const r = readResults(coll, spec, "results");

    expect(r.tgid).toBe(BigInt(process.pid));
    expect(r.pid).toBe(BigInt(process.pid)); // vitest runs tests on the main thread of its fork
    expect(r.parent_tgid).toBe(BigInt(process.ppid));
    expect(r.sub_tgid).toBe(BigInt(process.pid)); // relocated inside a subprogram
    expect(r.children_next_nonnull).toBe(1n);
    const comm = readFileSync("/proc/self/comm", "utf8").trim();
    expect(Buffer.from(r.comm as Uint8Array).toString("latin1").replace(/\0.*$/s, "")).toBe(comm);
    expect(r.comm2).toBe(BigInt(comm.charCodeAt(2)));
    // task->flags through a flavor declaring it as __u8: the load was widened to the kernel's
    // 4 bytes, so all PF_* bits arrive (field 9 of /proc/self/stat is task->flags).
    const stat = readFileSync("/proc/self/stat", "utf8");
    const flags = BigInt(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[6]);
    expect(r.flags_widened).toBe(flags);
    expect(flags > 0xffn).toBe(true); // PF_* bits above the low byte are set, so widening mattered

    expect(r.off_pid).toBe(BigInt(member(kernel, "task_struct", ["pid"]).bitOffset / 8));
    expect(r.off_comm).toBe(BigInt(member(kernel, "task_struct", ["comm"]).bitOffset / 8));
    expect(r.size_comm).toBe(BigInt(typeSize(kernel, member(kernel, "task_struct", ["comm"]).type)));
    expect(r.size_flags).toBe(BigInt(typeSize(kernel, member(kernel, "task_struct", ["flags"]).type)));
    expect(r.signed_pid).toBe(1n);
    expect(r.signed_flags).toBe(0n);

    expect(r.exists_pid).toBe(1n);
    expect(r.exists_missing).toBe(0n);
    expect(r.guarded).toBe(42n); // the dead branch with the poisoned load verified and was skipped

    const taskId = kernel.idsByName("task_struct", "struct")[0];
    expect(r.type_exists_task).toBe(1n);
    expect(r.type_exists_missing).toBe(0n);
    expect(r.type_size_task).toBe(BigInt(typeSize(kernel, taskId)));
    expect(r.type_size_list).toBe(BigInt(typeSize(kernel, kernel.idsByName("list_head", "struct")[0])));
    expect(r.type_id_target).toBe(BigInt(taskId));
    expect(r.type_id_local).toBe(BigInt(spec.btf!.idsByName("task_struct", "struct")[0]));
    expect(r.matches_list).toBe(1n);
    expect(r.matches_bad).toBe(0n);

    const pidType = kernel.typeByName("pid_type", "enum")!;
    const value = (n: string) => BigInt(pidType.values.find((v) => v.name === n)!.value);
    expect(r.enum_exists_sid).toBe(1n);
    expect(r.enum_exists_future).toBe(0n);
    expect(r.enum_sid).toBe(value("PIDTYPE_SID"));
    expect(r.enum_tgid).toBe(value("PIDTYPE_TGID"));
    const cc = kernel.typeByName("perf_callchain_context", "enum64")!;
    expect(r.enum64_user).toBe(BigInt.asUintN(64, cc.values.find((v) => v.name === "PERF_CONTEXT_USER")!.value));
  });

  itKernel("an unguarded access to a missing field fails with the relocation, type and field named", () => {
    const spec = CollectionSpec.fromFile(obj("core_task"));
    let err: unknown;
    try {
      Collection.load(spec, { programs: ["core_unguarded"] }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CorePoisonError);
    const e = err as CorePoisonError;
    expect(e.message).toMatch(/program "core_unguarded".*CO-RE relocation #0 \(field_byte_offset of struct task_struct___old\.this_field_does_not_exist\)/);
    expect(e.relocation?.poisoned).toBe(true);
    expect((e.cause as Error).name).toBe("VerifierError");
  });

  itKernel("sk_buff bitfields through anonymous members (tc program, bpf_cast_to_kern_ctx kfunc)", () => {
    const spec = CollectionSpec.fromFile(obj("core_skb"));
    using coll = Collection.load(spec);
    const pkt = (dst: number[]) => {
      const p = new Uint8Array(64);
      p.set(dst, 0);
      p.set([0x02, 0, 0, 0, 0, 0x02], 6);
      p.set([0x08, 0x00], 12); // IPv4
      p[14] = 0x45;
      return p;
    };
    const bit = member(kernel, "sk_buff", ["pkt_type"]);
    const byteOff = Math.floor(bit.bitOffset / 8);
    // PACKET_HOST 0 (loopback's address is all zeros), PACKET_MULTICAST 2, PACKET_OTHERHOST 3.
    for (const [dst, want] of [
      [[0, 0, 0, 0, 0, 0], 0n],
      [[0x01, 0x00, 0x5e, 0, 0, 1], 2n],
      [[0x02, 0, 0, 0, 0, 1], 3n],
    ] as const) {
      const res = coll.programs.core_skb.run({ data: pkt([...dst]) });
      expect(res.retval).toBe(0);
      const r = readResults(coll, spec, "skb_results");
      expect(r.pkt_type).toBe(want);
      expect(r.len).toBe(64n);
      expect(r.protocol).toBe(0x0008n); // htons(ETH_P_IP) read as a little-endian u16
      expect(r.off_pkt_type).toBe(BigInt(byteOff));
      expect(r.size_pkt_type).toBe(1n);
      expect(r.lshift_pkt_type).toBe(BigInt(64 - (bit.bitOffset - byteOff * 8 + bit.bitfieldSize)));
      expect(r.rshift_pkt_type).toBe(BigInt(64 - bit.bitfieldSize));
      expect(r.signed_pkt_type).toBe(0n);
    }
  });

  itKernel("kfuncs, typed and untyped __ksym and weak externs (syscall program)", () => {
    const spec = CollectionSpec.fromFile(obj("core_ksym"));
    using coll = Collection.load(spec);
    const ctx = new Uint8Array(4);
    new DataView(ctx.buffer).setInt32(0, process.pid, true);
    expect(coll.programs.ksym_task.run({ ctx }).retval).toBe(0);
    const r = readResults(coll, spec, "ksym_results");
    expect(r.found).toBe(1n);
    expect(r.tgid).toBe(BigInt(process.pid));
    expect(r.release_exists).toBe(1n);
    expect(r.weak_exists).toBe(0n);
    expect(r.weak_called).toBe(0n);
    expect(r.prog_put_addr).toBe(kallsymsAddress("bpf_prog_put"));
    expect(r.missing_var_addr).toBe(0n);
  });

  itKernel("a typed per-CPU __ksym variable resolves by BTF (the kernel needs it in kallsyms)", () => {
    const spec = CollectionSpec.fromFile(obj("core_ksym"));
    const inKallsyms = readFileSync("/proc/kallsyms", "latin1").includes(" runqueues\n");
    if (!inKallsyms) {
      // This kernel is built without CONFIG_KALLSYMS_ALL: BTF has the variable, kallsyms does
      // not, and the verifier needs both. tsbpf resolves it; the kernel refuses it.
      // KNOWN_LIMITS.ksymVariables
      expect(() => Collection.load(spec, { programs: ["ksym_rq"] }).close()).toThrow(
        new RegExp(`${KNOWN_LIMITS.ksymVariables.errno}[\\s\\S]*ldimm64 failed to find the address for kernel symbol 'runqueues'`),
      );
      return;
    }
    using coll = Collection.load(spec, { programs: ["ksym_rq"] });
    coll.programs.ksym_rq.run();
    if (availableParallelism() > 1) expect(readResults(coll, spec, "ksym_results").rq_cpu).toBe(1n);
  });

  itKernel("calling a missing weak kfunc unguarded fails naming the kfunc", () => {
    const spec = CollectionSpec.fromFile(obj("core_ksym"));
    expect(() => Collection.load(spec, { programs: ["ksym_unguarded"] }).close()).toThrow(
      /instruction \d+ calls the weak kfunc "bpf_kfunc_tsbpf_does_not_exist", which this kernel does not have/,
    );
  });
});

describeKernel("CO-RE in tracing programs", () => {
  const SYS_getppid = 110; // x86_64; it ignores its arguments, but they still arrive in pt_regs

  itKernel("tp_btf on sys_enter reads the kernel's struct pt_regs at relocated offsets", () => {
    const spec = CollectionSpec.fromFile(obj("core_trace"));
    spec.variables.target_tgid.value = process.pid;
    spec.variables.target_syscall.value = BigInt(SYS_getppid);
    using coll = Collection.load(spec, { programs: ["on_sys_enter"] });
    const ppid = process.ppid; // (reading process.ppid makes a getppid call of its own)
    const got: number[] = [];
    const link = attachTpBtf(coll.programs.on_sys_enter);
    try {
      for (let i = 0; i < 3; i++) got.push(Number(syscall3(SYS_getppid, 0x5eed + i, 0, 0)));
    } finally {
      link.close();
    }
    expect(got).toEqual([ppid, ppid, ppid]);
    const r = readResults(coll, spec, "tp_results");
    expect(r.hits).toBeGreaterThanOrEqual(3n);
    expect(r.orig_ax).toBe(BigInt(SYS_getppid));
    expect(r.di).toBe(BigInt(0x5eed + 2));
    expect(r.pid).toBe(BigInt(process.pid));
  });

  itKernel("a task iterator reads bpf_iter__task and task_struct fields at relocated offsets", () => {
    const spec = CollectionSpec.fromFile(obj("core_trace"));
    using coll = Collection.load(spec, { programs: ["dump_task"] });
    using link = attachIter(coll.programs.dump_task, { task: { pid: process.pid } });
    const before = new Set(readdirSync("/proc/self/task").map(Number));
    const bytes = link.read();
    const after = new Set(readdirSync("/proc/self/task").map(Number));
    expect(bytes.length % 24).toBe(0);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const seen = new Map<number, string>();
    for (let at = 0; at < bytes.length; at += 24) {
      expect(view.getUint32(at + 4, true)).toBe(process.pid); // tgid of every thread
      seen.set(view.getUint32(at, true), Buffer.from(bytes.subarray(at + 8, at + 24)).toString("latin1").replace(/\0.*$/s, ""));
    }
    for (const tid of before) if (after.has(tid)) expect(seen.has(tid), `thread ${tid}`).toBe(true); // threads alive throughout
    for (const tid of seen.keys()) expect(before.has(tid) || after.has(tid)).toBe(true);
    expect(seen.get(process.pid)).toBe(readFileSync("/proc/self/comm", "utf8").trim());
  });
});

describe("candidate prefetch on the real kernel BTF", () => {
  it("finds, for every root type of the benchmark object, what lookups by name find", () => {
    const spec = CollectionSpec.fromFile(obj("core_bench"));
    const roots = [...new Set((spec.programs.core_bench.coreRelocations ?? []).map((r) => r.typeId))];
    expect(roots.length).toBeGreaterThan(10);
    const batch = new CoreTargets(kernelBtf());
    batch.prefetch(spec.btf!, roots);
    const single = new CoreTargets(kernelBtf());
    for (const id of roots) expect(batch.candidates(spec.btf!, id).map((c) => c.id)).toEqual(single.candidates(spec.btf!, id).map((c) => c.id));
  });
});

describe("CO-RE against a kernel BTF file", () => {
  itKernel("Collection.load takes a BTF file path for kernels without /sys/kernel/btf", () => {
    const spec = CollectionSpec.fromFile(obj("core_task"));
    using coll = Collection.load(spec, { kernelBtf: "/sys/kernel/btf/vmlinux" });
    coll.programs.core_task.run();
    const r = readResults(coll, spec, "results");
    expect(r.tgid).toBe(BigInt(process.pid));
    expect(() => Collection.load(spec, { kernelBtf: "/nonexistent/vmlinux" })).toThrow(/kernel BTF: read \/nonexistent\/vmlinux/);
  });
});
