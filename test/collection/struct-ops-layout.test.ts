/**
 * kernelStructOps: a `.struct_ops` variable laid out against the kernel's BTF (read from
 * /sys/kernel/btf, no syscalls), member by member, and the mismatches it refuses.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kernelBtf } from "../../src/features/kernel-btf.js";
import type { BtfSpec } from "../../src/btf/spec.js";
import { kernelStructOps } from "../../src/collection/struct-ops.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { structOpsLayout } from "../../src/collection/struct-ops.js";

const OBJ = join(__dirname, "../../bpf/struct_ops.o");

/** The kernel's BTF with struct tcp_congestion_ops edited by `edit` (a fixture for mismatches). */
type Member = { name: string; type: number; bitOffset: number };
function kernelWith(edit: (members: Member[]) => Member[]): BtfSpec {
  const k = kernelBtf();
  const id = k.idsByName("tcp_congestion_ops", "struct")[0];
  const st = k.typeOfKind(id, "struct");
  const edited = { ...st, members: edit([...st.members] as never) };
  const byId = (i: number) => (i === id ? edited : k.typeById(i));
  return new Proxy(k, {
    get(target, prop) {
      if (prop === "typeById") return byId;
      if (prop === "typeOfKind") return (i: number, kind: string) => (i === id ? edited : target.typeOfKind(i, kind as never));
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

describe("kernelStructOps (kernel BTF, no syscalls)", () => {
  it("puts data members and program slots where bpf_struct_ops_tcp_congestion_ops has them", () => {
    const spec = CollectionSpec.fromFile(OBJ);
    const k = kernelStructOps(spec.maps.tsbpf_cc, spec.btf!, kernelBtf());
    const ref = structOpsLayout("tcp_congestion_ops");
    expect(k.structId).toBe(ref.structId);
    expect(k.valueTypeId).toBe(ref.valueTypeId);
    expect(k.value.length).toBe(ref.valueSize);
    const name = ref.members.get("name")!;
    expect(new TextDecoder().decode(k.value.subarray(name.offset, name.offset + 9))).toBe("tsbpf_cc\0");
    expect(k.slots.map((s) => [s.member, s.program, s.index, s.offset])).toEqual(
      ["init", "ssthresh", "cong_avoid", "undo_cwnd"].map((m) => [m, `tsbpf_${m}`, ref.members.get(m)!.index, ref.members.get(m)!.offset]),
    );
    const flags = ref.members.get("flags")!;
    expect(new DataView(k.value.buffer).getUint32(flags.offset, true)).toBe(1); // TCP_CONG_NON_RESTRICTED
    // Everything else is zero: function slots get fds only at load.
    const rest = [...k.value].filter((b, i) => b !== 0 && (i < name.offset || i >= name.offset + 16) && (i < flags.offset || i >= flags.offset + 4));
    expect(rest).toEqual([]);
  });

  it("skips a zero member the kernel lacks, and refuses a set one", () => {
    const spec = CollectionSpec.fromFile(OBJ);
    const noFlags = kernelWith((m) => m.filter((x) => x.name !== "flags"));
    expect(() => kernelStructOps(spec.maps.tsbpf_cc, spec.btf!, noFlags)).toThrow(/member "flags" is set but the kernel's struct tcp_congestion_ops has no such member/);
    // Zero it in the spec: now it is an optional member the kernel lacks, and is skipped.
    const local = spec.btf!.typeOfKind(spec.maps.tsbpf_cc.btfValueTypeId!, "struct");
    const at = local.members.find((x) => x.name === "flags")!.bitOffset / 8;
    spec.maps.tsbpf_cc.structOps!.data.fill(0, at, at + 4);
    expect(() => kernelStructOps(spec.maps.tsbpf_cc, spec.btf!, noFlags)).not.toThrow();
    const noName = kernelWith((m) => m.filter((x) => x.name !== "name"));
    expect(() => kernelStructOps(spec.maps.tsbpf_cc, spec.btf!, noName)).toThrow(/member "name" is set but the kernel's struct tcp_congestion_ops has no such member/);
    const noInit = kernelWith((m) => m.filter((x) => x.name !== "init"));
    expect(() => kernelStructOps(spec.maps.tsbpf_cc, spec.btf!, noInit)).toThrow(/member "init" is set/);
  });

  it("refuses members whose kind or size differ from the kernel's", () => {
    const spec = CollectionSpec.fromFile(OBJ);
    const k = kernelBtf();
    const st = k.typeOfKind(k.idsByName("tcp_congestion_ops", "struct")[0], "struct");
    const u64 = k.idsByName("long long unsigned int", "int")[0];
    const flagsWide = kernelWith((m) => m.map((x) => (x.name === "flags" ? { ...x, type: u64 } : x)));
    expect(() => kernelStructOps(spec.maps.tsbpf_cc, spec.btf!, flagsWide)).toThrow(/member "flags" is 4 bytes here but 8 in the kernel/);
    const nameIsPtr = kernelWith((m) => m.map((x) => (x.name === "name" ? { ...x, type: st.members.find((y) => y.name === "init")!.type } : x)));
    expect(() => kernelStructOps(spec.maps.tsbpf_cc, spec.btf!, nameIsPtr)).toThrow(/member "name" is a function pointer on one side only/);
  });
});
