/**
 * Contexts (`ctx_in`) for the program types whose test run takes one: `struct xdp_md` for XDP
 * and `struct __sk_buff` for the skb types (socket_filter, sched_cls, sched_act, cgroup_skb,
 * lwt_*). Only the fields the kernel lets a test run set are offered; the rest stay zero, as
 * the kernel demands (it answers EINVAL otherwise). Pure: layouts as of Linux 6.18 UAPI.
 */
import { checkOptions } from "../errors.js";

/** Fields of `struct xdp_md` a test run may set. */
export interface XdpContextOptions {
  /** `ingress_ifindex`: an interface of the caller's network namespace (ENODEV otherwise). */
  ingressIfindex?: number;
  /** `rx_queue_index`: below the interface's number of RX queues (EINVAL otherwise). Needs `ingressIfindex`. */
  rxQueueIndex?: number;
}

/** Size of `struct xdp_md` (data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex). */
export const XDP_MD_SIZE = 24;

function u32(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`context: ${name} must be a u32, got ${String(value)}`);
  }
  return value;
}


/** A `struct xdp_md` for `ctx_in` of an XDP test run (Linux 5.15). Throws TypeError/RangeError. */
export function xdpContext(options: XdpContextOptions = {}): Uint8Array {
  checkOptions("xdpContext", options, ["ingressIfindex", "rxQueueIndex"], "field");
  const out = new Uint8Array(XDP_MD_SIZE);
  const v = new DataView(out.buffer);
  if (options.ingressIfindex !== undefined) v.setUint32(12, u32(options.ingressIfindex, "ingressIfindex"), true);
  if (options.rxQueueIndex !== undefined) {
    if (options.ingressIfindex === undefined) throw new TypeError("xdpContext: rxQueueIndex needs ingressIfindex (the queue belongs to an interface)");
    v.setUint32(16, u32(options.rxQueueIndex, "rxQueueIndex"), true);
  }
  return out;
}

/** Fields of `struct __sk_buff` a test run may set. */
export interface SkbContextOptions {
  mark?: number;
  priority?: number;
  /** `ingress_ifindex`. */
  ingressIfindex?: number;
  /** `ifindex`: the device the skb is on (an interface of the caller's namespace). */
  ifindex?: number;
  /** `cb[0..4]`: up to five u32 of control block. */
  cb?: readonly number[];
  /** `tstamp` in ns. */
  tstamp?: bigint;
  /** `wire_len`: at least the data's length. */
  wireLen?: number;
  gsoSegs?: number;
  gsoSize?: number;
  /** `hwtstamp` in ns. */
  hwtstamp?: bigint;
}

/** Size of `struct __sk_buff` (Linux 6.18). */
export const SK_BUFF_SIZE = 192;

/** Byte offsets of the settable fields of `struct __sk_buff`. */
const SKB = { mark: 8, priority: 32, ingress_ifindex: 36, ifindex: 40, cb: 48, tstamp: 152, wire_len: 160, gso_segs: 164, gso_size: 176, hwtstamp: 184 } as const;

/** A `struct __sk_buff` for `ctx_in` of an skb test run (Linux 5.2). Throws TypeError/RangeError. */
export function skbContext(options: SkbContextOptions = {}): Uint8Array {
  checkOptions("skbContext", options, ["mark", "priority", "ingressIfindex", "ifindex", "cb", "tstamp", "wireLen", "gsoSegs", "gsoSize", "hwtstamp"], "field");
  const out = new Uint8Array(SK_BUFF_SIZE);
  const v = new DataView(out.buffer);
  const set = (at: number, value: number | undefined, name: string) => {
    if (value !== undefined) v.setUint32(at, u32(value, name), true);
  };
  set(SKB.mark, options.mark, "mark");
  set(SKB.priority, options.priority, "priority");
  set(SKB.ingress_ifindex, options.ingressIfindex, "ingressIfindex");
  set(SKB.ifindex, options.ifindex, "ifindex");
  set(SKB.wire_len, options.wireLen, "wireLen");
  set(SKB.gso_segs, options.gsoSegs, "gsoSegs");
  set(SKB.gso_size, options.gsoSize, "gsoSize");
  if (options.cb !== undefined) {
    if (!Array.isArray(options.cb) || options.cb.length > 5) throw new RangeError("skbContext: cb holds at most five u32");
    options.cb.forEach((x, i) => set(SKB.cb + 4 * i, x, `cb[${i}]`));
  }
  for (const [name, at] of [["tstamp", SKB.tstamp], ["hwtstamp", SKB.hwtstamp]] as const) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value !== "bigint" || value < 0n || value >= 1n << 64n) throw new RangeError(`skbContext: ${name} must be a u64 bigint`);
    v.setBigUint64(at, value, true);
  }
  return out;
}
