/**
 * User code over the generated bindings of bpf/gen/kinds.c: XDP on a veth, struct keys, per-CPU
 * values, a queue, a sockhash keyed by a struct, typed variables. No `as`, `!` or `any`.
 */
import { load, loadSpec, Verdict, type FlowKey, type FlowStats, type PairT } from "../golden/kinds.js";

export interface KindsReport {
  countersBefore: number;
  countersAfter: number;
  sent: number;
  stats: FlowStats | undefined;
  perCpu: bigint[] | undefined;
  popped: PairT | undefined;
  sock: Uint8Array | undefined;
  threshold: bigint;
  greeting: string;
  attached: string[];
  /** What the outer map held at 1 before setInnerMap. */
  innerBefore: Uint8Array | undefined;
  /** The id the outer map reports at 1, and inner_a's id. */
  innerIds: [Uint8Array | undefined, number];
  /** The id the prog array reports at 1, and count's id. */
  progIds: [Uint8Array | undefined, number];
}

const key: FlowKey = { addr: 7, port: 80, proto: 6, pad: 0 };

function stats(packets: bigint): FlowStats {
  return {
    packets, bytes: 0n, verdict: Verdict.VERDICT_DROP, small: 5, big_bits: 0xfffff, wide: 1n << 39n, seen: true,
    label: "web", mac: new Uint8Array(6), ports: [80, 443, 0, 0], hist: new Array<number>(32).fill(0), ptr: 0n,
    as_u32: 0x01020304, as_bytes: new Uint8Array(4), range: { lo: -1, hi: 1 },
  };
}

/** Load, attach XDP to `iface` in `netns`, send packets with `send`, and report what the maps and variables say. */
export function runKinds(iface: string, netns: string, send: () => number): KindsReport {
  const spec = loadSpec();
  spec.variables.threshold.value = 1_000_000n;
  spec.variables.greeting.value = "hello";
  using obj = spec.load();
  obj.maps.flows.set(key, stats(41n));
  obj.maps.pairs.push({ a: 1, b: 2 });
  const countersBefore = obj.variables.counters.value[0];
  const innerBefore = obj.maps.outer.get(1);
  obj.setInnerMap("outer", 1, obj.maps.inner_a); // 0 holds it already, from the C
  obj.setProgram("jumps", 1, obj.programs.count); // at 1: count tail-calls 0, so it does not call itself
  // the tracepoint by its section; the XDP program by its section and the interface given here
  using group = obj.attachAll({ count: { interface: iface, netns } });
  const sent = send();
  return {
    countersBefore,
    countersAfter: obj.variables.counters.value[0],
    sent,
    stats: obj.maps.flows.get(key),
    perCpu: obj.maps.per_cpu.get(0),
    popped: obj.maps.pairs.pop(),
    sock: obj.maps.socks.get({ addr: 1, port: 2, proto: 6, pad: 0 }),
    threshold: obj.variables.threshold.value,
    greeting: obj.variables.greeting.value,
    attached: Object.keys(group.links).sort(),
    innerBefore,
    innerIds: [obj.maps.outer.get(1), obj.maps.inner_a.id],
    progIds: [obj.maps.jumps.get(1), obj.programs.count.info().id],
  };
}

/** The spec's variables, typed, without the kernel. */
export function specDefaults(): { threshold: bigint; verdict: number; greeting: string; counters: [number, number, number, number] } {
  const spec = loadSpec();
  return {
    threshold: spec.variables.threshold.value,
    verdict: spec.variables.default_verdict.value,
    greeting: spec.variables.greeting.value,
    counters: spec.variables.counters.value,
  };
}

/** attachAll skips a program whose section needs options not given (as libbpf's skeleton does). */
export function attachWithoutInterface(): string[] {
  using obj = load();
  using group = obj.attachAll();
  return Object.keys(group.links);
}

/** Load with only `count` and read one map: load() passes Collection.load's options through. */
export function loadOnlyCount(): boolean {
  using obj = load({ programs: ["count"] });
  return obj.programs.optional_prog === undefined;
}
