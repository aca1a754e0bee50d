/**
 * Type tests of generated bindings, compiled by tsc (the project's config, and the strictest in
 * test/gen/strict.test.ts): each `@ts-expect-error` line must be a compile error, the rest must
 * compile. Never run.
 */
import { attach, type BpfMap, type Program } from "tsbpf";
import { Verdict, type Kinds, type KindsSpec, type FlowStats, type VerdictName } from "./golden/kinds.js";
import type { MapInMap } from "./golden/map_in_map.js";
import type { Opensnoop, Event } from "./golden/opensnoop_rb.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

export function checks(obj: Kinds, spec: KindsSpec, snoop: Opensnoop, mim: MapInMap, counts: BpfMap<number, number>): void {
  // right uses compile
  attach.xdp(obj.programs.count, { interface: "lo" });
  attach.tracepoint(obj.programs.on_getpid, { category: "syscalls", name: "sys_enter_getpid" });
  const stats: FlowStats | undefined = obj.maps.flows.get({ addr: 1, port: 2, proto: 3, pad: 0 });
  const t: bigint = obj.variables.threshold.value;
  const c: bigint[] | undefined = obj.maps.per_cpu.get(0);
  obj.variables.counters.value = [1, 2, 3, 4];
  spec.variables.threshold.value = 5n; // constants are editable on the spec
  void [stats, t, c];
  // maps of maps take maps of their inner type; prog arrays take programs
  obj.setInnerMap("outer", 0, obj.maps.inner_a);
  mim.setInnerMap("outer_array", 1, mim.maps.inner_b);
  mim.setInnerMap("outer_array", 0, counts);
  obj.setProgram("jumps", 0, obj.programs.on_getpid);
  // attachAll: options typed by each program's kind, required where the section leaves them open
  obj.attachAll({ count: { interface: "lo" } });
  obj.attachAll({ count: { interface: 1, mode: "generic" }, on_getpid: {} });
  // enums: the constants and their names; fields read as numbers
  spec.variables.default_verdict.value = Verdict.VERDICT_DROP;
  const drop: 1 = Verdict.VERDICT_DROP;
  const vname: VerdictName = "VERDICT_COUNT";
  const dv: number = obj.variables.default_verdict.value;
  void [drop, vname, dv];
  expectType<Equal<typeof obj.programs.count, Program<"xdp">>>();
  expectType<Equal<typeof obj.maps.flows, BpfMap<import("./golden/kinds.js").FlowKey, FlowStats>>>();
  expectType<Equal<typeof snoop.variables.dropped.value, bigint>>();
  void (async () => {
    for await (const e of snoop.ringBuf("events", "event")) {
      expectType<Equal<typeof e, Event>>();
      const name: string = e.comm;
      void name;
    }
    const raw = snoop.codec("event", { charArrays: "bytes" });
    const bytes: Uint8Array = raw.decode(new DataView(new ArrayBuffer(raw.size)), 0).comm;
    void bytes;
  });

  // @ts-expect-error a misspelled program name
  void obj.programs.cout;
  // @ts-expect-error a misspelled map name
  void obj.maps.flow;
  // @ts-expect-error a wrong key type (the key is struct flow_key)
  obj.maps.flows.get(1);
  // @ts-expect-error a key missing a member
  obj.maps.flows.get({ addr: 1, port: 2, proto: 3 });
  // @ts-expect-error a tracepoint program attached to XDP
  attach.xdp(obj.programs.on_getpid, { interface: "lo" });
  // @ts-expect-error a bigint variable assigned to a number
  const n: number = obj.variables.threshold.value;
  void n;
  // @ts-expect-error a constant is read-only once loaded
  obj.variables.threshold.value = 1n;
  // @ts-expect-error a tuple of the wrong length
  obj.variables.counters.value = [1, 2, 3];
  // @ts-expect-error a ring buffer reader over a hash map
  snoop.ringBuf("missing", "event");
  // @ts-expect-error a record type the object does not have
  snoop.ringBuf("events", "evnt");
  // @ts-expect-error a queue has no keys
  obj.maps.pairs.get(0);
  // @ts-expect-error an optional (`?` section) program may be absent
  attach.xdp(obj.programs.optional_prog, { interface: "lo" });
  // @ts-expect-error an inner map of the wrong value type (outer holds __u32 → __u64 arrays)
  obj.setInnerMap("outer", 0, counts);
  // @ts-expect-error an inner map of the wrong key type
  obj.setInnerMap("outer", 0, obj.maps.flows);
  // @ts-expect-error outer_hash holds __u32 → __u64 hashes, not __u32 → __u32 arrays
  mim.setInnerMap("outer_hash", 0, mim.maps.inner_a);
  // @ts-expect-error setInnerMap on a map that is not a map of maps
  obj.setInnerMap("jumps", 0, obj.maps.inner_a);
  // @ts-expect-error a prog array takes programs, not maps
  obj.setProgram("jumps", 0, obj.maps.inner_a);
  // @ts-expect-error setProgram on a map that is not a prog array
  obj.setProgram("outer", 0, obj.programs.count);
  // @ts-expect-error a wrong key type for the outer map
  obj.setInnerMap("outer", "0", obj.maps.inner_a);
  // @ts-expect-error an xdp program's options without its interface
  obj.attachAll({ count: { mode: "generic" } });
  // @ts-expect-error an option the kind does not take
  obj.attachAll({ count: { interface: "lo", cgroup: "/sys/fs/cgroup" } });
  // @ts-expect-error a misspelled program name in attachAll
  obj.attachAll({ cout: { interface: "lo" } });
  // @ts-expect-error not an enumerator name
  const badName: VerdictName = "VERDICT_PAS";
  void badName;
  // @ts-expect-error enumerator values are literals
  const badDrop: 0 = Verdict.VERDICT_DROP;
  void badDrop;
  // @ts-expect-error char[n] is a string, not bytes
  const comm: Uint8Array = ({} as Event).comm;
  void comm;
}
