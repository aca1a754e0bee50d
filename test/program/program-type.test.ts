import { describe, expect, it } from "vitest";
import {
  ATTACH_TYPES,
  PROGRAM_TYPES,
  attachTypeName,
  attachTypeNumber,
  isAttachTypeName,
  isProgramTypeName,
  programTypeName,
  programTypeNumber,
} from "../../src/spec/program-type.js";

describe("program and attach type tables", () => {
  it("number program types 1..32 without gaps or duplicates (enum bpf_prog_type of 6.18)", () => {
    const numbers = Object.values(PROGRAM_TYPES).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
  });

  it("number attach types 0..57 without gaps or duplicates (enum bpf_attach_type of 6.18)", () => {
    const numbers = Object.values(ATTACH_TYPES).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 58 }, (_, i) => i));
  });

  it.each([
    ["socket_filter", 1], ["kprobe", 2], ["sched_cls", 3], ["xdp", 6], ["cgroup_skb", 8],
    ["tracing", 26], ["ext", 28], ["lsm", 29], ["syscall", 31], ["netfilter", 32],
  ] as const)("program type %s is %i", (name, n) => {
    expect(PROGRAM_TYPES[name]).toBe(n);
    expect(programTypeName(n)).toBe(name);
    expect(programTypeNumber(name)).toBe(n);
  });

  it.each([
    ["cgroup_inet_ingress", 0], ["trace_fentry", 24], ["xdp", 37], ["perf_event", 41],
    ["netfilter", 45], ["tcx_ingress", 46], ["tcx_egress", 47], ["trace_uprobe_multi", 48],
    ["cgroup_unix_connect", 49], ["netkit_primary", 54], ["netkit_peer", 55],
    ["trace_kprobe_session", 56], ["trace_uprobe_session", 57],
  ] as const)("attach type %s is %i", (name, n) => {
    expect(ATTACH_TYPES[name]).toBe(n);
    expect(attachTypeName(n)).toBe(name);
    expect(attachTypeNumber(name)).toBe(n);
  });

  it("passes raw numbers through and rejects unknown names and non-u32 numbers", () => {
    expect(programTypeNumber(99)).toBe(99);
    expect(programTypeName(99)).toBeUndefined();
    expect(attachTypeName(-1)).toBeUndefined();
    expect(() => programTypeNumber("xpd" as never)).toThrow(/unknown program type "xpd"/);
    expect(() => attachTypeNumber("ingress" as never)).toThrow(TypeError);
    expect(() => programTypeNumber(-1)).toThrow(/not a u32/);
    expect(() => attachTypeNumber(1.5)).toThrow(/not a u32/);
    expect(isProgramTypeName("xdp")).toBe(true);
    expect(isProgramTypeName("toString")).toBe(false);
    expect(isAttachTypeName("constructor")).toBe(false);
  });
});
