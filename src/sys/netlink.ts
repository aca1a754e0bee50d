/**
 * The netlink socket: an `AF_NETLINK` (`NETLINK_ROUTE`) socket through koffi, a message builder
 * with attributes and nested attributes, request/ack with extended acks (the kernel's own error
 * message) and dump requests. The rtnetlink messages tsbpf sends are in rtnetlink.ts, network
 * namespaces in netns.ts.
 *
 * XDP attach by netlink, the clsact qdisc and cls_bpf filters, and test setup (veth pairs)
 * use it. Everything is synchronous: the kernel answers a netlink request before `recvfrom`
 * returns, and a receive timeout makes sure a lost answer cannot hang the process.
 */
import { Errno, SyscallError } from "../errors.js";
import { Fd } from "./fd.js";
import { errno, NativeMemory, SYS, syscall3, syscall5 } from "./libc.js";

const { EINTR } = Errno;

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
/** `NETLINK_ROUTE`: the rtnetlink protocol. */
export const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;

/** Netlink header flags (`NLM_F_*`). */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  /** In an ack: the original request was not echoed back in full. */
  CAPPED: 0x100,
  /** In an ack: extended-ack attributes follow. */
  ACK_TLVS: 0x200,
} as const;

/** Control message types. */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

/** Extended-ack attributes (`NLMSGERR_ATTR_*`). */
const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_OFFS = 2;

/** rtnetlink message types used by tsbpf. */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  NEWQDISC: 36,
  DELQDISC: 37,
  GETQDISC: 38,
  NEWTFILTER: 44,
  DELTFILTER: 45,
  GETTFILTER: 46,
} as const;

const RTM_NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(RTM)) RTM_NAMES[v] = `RTM_${k}`;

/** The UAPI name of a netlink message type (`16` → `"RTM_NEWLINK"`). */
export function rtmName(type: number): string {
  return RTM_NAMES[type] ?? `netlink message ${type}`;
}

const NLMSG_HDRLEN = 16;
const NLA_HDRLEN = 4;
/** `NLA_F_NESTED`: set on the type of an attribute that holds attributes. */
export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Builds a netlink message body: a fixed header (e.g. `struct ifinfomsg`) followed by
 * attributes. `nest()` opens a nested attribute and fills in its length when the callback
 * returns. Host byte order, as netlink uses.
 */
export class NetlinkBuilder {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  /** Start a body with `fixed` (the family header) copied in. */
  constructor(fixed?: Uint8Array) {
    if (fixed) this.bytes(fixed);
  }

  #reserve(n: number): number {
    const at = this.#len;
    const need = at + align4(n);
    if (need > this.#buf.length) {
      const next = new Uint8Array(Math.max(need, this.#buf.length * 2));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
      this.#view = new DataView(next.buffer);
    }
    this.#buf.fill(0, at, need);
    this.#len = need;
    return at;
  }

  /** Append raw bytes (padded to 4). */
  bytes(b: Uint8Array): this {
    const at = this.#reserve(b.length);
    this.#buf.set(b, at);
    return this;
  }

  /** An attribute carrying raw bytes. */
  attr(type: number, payload: Uint8Array): this {
    const at = this.#reserve(NLA_HDRLEN + payload.length);
    this.#view.setUint16(at, NLA_HDRLEN + payload.length, true);
    this.#view.setUint16(at + 2, type, true);
    this.#buf.set(payload, at + NLA_HDRLEN);
    return this;
  }

  /** A u8 attribute. */
  u8(type: number, v: number): this {
    return this.attr(type, Uint8Array.of(v & 0xff));
  }

  /** A u16 attribute (host order). */
  u16(type: number, v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return this.attr(type, b);
  }

  /** A u32 attribute (host order). */
  u32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.attr(type, b);
  }

  /** An s32 attribute (host order). */
  s32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return this.attr(type, b);
  }

  /** A NUL-terminated string attribute. */
  string(type: number, s: string): this {
    const enc = new TextEncoder().encode(s);
    const b = new Uint8Array(enc.length + 1);
    b.set(enc);
    return this.attr(type, b);
  }

  /** A flag attribute (no payload). */
  flag(type: number): this {
    return this.attr(type, new Uint8Array(0));
  }

  /** A nested attribute: `fill` appends its children. `NLA_F_NESTED` is set when `markNested`. */
  nest(type: number, fill: (b: this) => void, markNested = false): this {
    const at = this.#reserve(NLA_HDRLEN);
    this.#view.setUint16(at + 2, markNested ? type | NLA_F_NESTED : type, true);
    fill(this);
    this.#view.setUint16(at, this.#len - at, true);
    return this;
  }

  /** The body built so far. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** One attribute read from a message: its type (without the nested/byte-order flags) and payload. */
export interface NetlinkAttr {
  readonly type: number;
  readonly data: Uint8Array;
}

/**
 * Parse the attributes in `bytes`. Stops at the end or at a malformed attribute (a length
 * shorter than the header or past the end) rather than reading out of bounds.
 */
export function parseAttrs(bytes: Uint8Array): NetlinkAttr[] {
  const out: NetlinkAttr[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off + NLA_HDRLEN <= bytes.length) {
    const len = view.getUint16(off, true);
    const type = view.getUint16(off + 2, true) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || off + len > bytes.length) break;
    out.push({ type, data: bytes.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** Attributes by type (the last one wins when a type repeats). */
export function attrMap(bytes: Uint8Array): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (const a of parseAttrs(bytes)) m.set(a.type, a.data);
  return m;
}

/** Read a u32 attribute payload (host order), or undefined if it is too short. */
export function attrU32(data: Uint8Array | undefined): number | undefined {
  if (!data || data.length < 4) return undefined;
  return new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
}

/** Read a NUL-terminated string attribute payload. */
export function attrString(data: Uint8Array | undefined): string | undefined {
  if (!data) return undefined;
  const end = data.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? data.subarray(0, end) : data);
}

/** One message received from the kernel: its header fields and body (after the 16-byte header). */
export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly body: Uint8Array;
}

/**
 * A netlink request failed. Extends SyscallError with the kernel's extended-ack message
 * (`kernelMessage`, e.g. "Exclusivity flag on, cannot modify") when it sent one.
 */
export class NetlinkError extends SyscallError {
  readonly kernelMessage?: string;
  /** Byte offset of the offending attribute in the request, when the kernel said. */
  readonly attributeOffset?: number;
  constructor(
    command: string,
    errnoValue: number,
    options: { context?: string; kernelMessage?: string; attributeOffset?: number; hint?: string },
  ) {
    const hint = options.kernelMessage ? `kernel: ${options.kernelMessage}` : options.hint;
    super("netlink", command, errnoValue, { context: options.context, hint });
    this.kernelMessage = options.kernelMessage;
    this.attributeOffset = options.attributeOffset;
  }
}

/** Options of one request. */
export interface NetlinkRequestOptions {
  /** Leads the error message, e.g. `xdp attach to "veth0"`. */
  context?: string;
}

const RECV_SIZE = 64 * 1024;

/**
 * An rtnetlink socket owned by this process. Open it with `NetlinkSocket.open()`; it lives in
 * the network namespace of the thread that opened it (see `withNetns`). The caller closes it.
 */
export class NetlinkSocket implements Disposable {
  readonly fd: Fd;
  #seq = Math.floor(Math.random() * 0x7fffffff);
  readonly #recv = new NativeMemory(RECV_SIZE);

  private constructor(fd: Fd) {
    this.fd = fd;
  }

  /**
   * Open an `AF_NETLINK` socket of `protocol` (rtnetlink by default), with extended acks on
   * and a 5 s receive timeout. Throws SyscallError.
   */
  static open(protocol = NETLINK_ROUTE): NetlinkSocket {
    const raw = syscall3(SYS.socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (raw < 0) throw new SyscallError("socket", "socket(AF_NETLINK)", errno(), { context: "netlink: open" });
    const fd = new Fd(raw, "netlink socket");
    try {
      const opt = new NativeMemory(16);
      opt.view.setUint32(0, 1, true);
      // Best effort: old kernels lack these options, and requests work without them.
      syscall5(SYS.setsockopt, raw, SOL_NETLINK, NETLINK_EXT_ACK, opt.address, 4);
      syscall5(SYS.setsockopt, raw, SOL_NETLINK, NETLINK_CAP_ACK, opt.address, 4);
      const tv = new NativeMemory(16);
      tv.view.setBigInt64(0, 5n, true);
      if (syscall5(SYS.setsockopt, raw, SOL_SOCKET, SO_RCVTIMEO, tv.address, 16) < 0) {
        throw new SyscallError("setsockopt", "setsockopt(SO_RCVTIMEO)", errno(), { context: "netlink: open" });
      }
      const addr = new NativeMemory(12);
      addr.view.setUint16(0, AF_NETLINK, true);
      if (syscall3(SYS.bind, raw, addr.address, 12) < 0) {
        throw new SyscallError("bind", "bind(AF_NETLINK)", errno(), { context: "netlink: open" });
      }
      return new NetlinkSocket(fd);
    } catch (e) {
      fd.close();
      throw e;
    }
  }

  #send(type: number, flags: number, body: Uint8Array, context: string | undefined): number {
    const seq = (this.#seq = (this.#seq + 1) >>> 0);
    const total = NLMSG_HDRLEN + body.length;
    const msg = new NativeMemory(total);
    msg.view.setUint32(0, total, true);
    msg.view.setUint16(4, type, true);
    msg.view.setUint16(6, flags | NLM_F.REQUEST, true);
    msg.view.setUint32(8, seq, true);
    msg.view.setUint32(12, 0, true);
    msg.bytes.set(body, NLMSG_HDRLEN);
    for (;;) {
      const r = syscall5(SYS.sendto, this.fd.value, msg.address, total, 0, 0);
      if (r >= 0) return seq;
      const e = errno();
      if (e !== EINTR) throw new NetlinkError(rtmName(type), e, { context: context ?? "netlink: send" });
    }
  }

  /** Receive one datagram and split it into messages. */
  #receive(type: number, context: string | undefined): NetlinkMessage[] {
    let n: number;
    for (;;) {
      n = syscall5(SYS.recvfrom, this.fd.value, this.#recv.address, RECV_SIZE, 0, 0);
      if (n >= 0) break;
      const e = errno();
      if (e !== EINTR) throw new NetlinkError(rtmName(type), e, { context: context ?? "netlink: receive", hint: e === 11 ? "no answer from the kernel within 5 s" : undefined });
    }
    const bytes = this.#recv.bytes.slice(0, n);
    const view = new DataView(bytes.buffer);
    const out: NetlinkMessage[] = [];
    let off = 0;
    while (off + NLMSG_HDRLEN <= n) {
      const len = view.getUint32(off, true);
      if (len < NLMSG_HDRLEN || off + len > n) break;
      out.push({
        type: view.getUint16(off + 4, true),
        flags: view.getUint16(off + 6, true),
        seq: view.getUint32(off + 8, true),
        pid: view.getUint32(off + 12, true),
        body: bytes.subarray(off + NLMSG_HDRLEN, off + len),
      });
      off += align4(len);
    }
    return out;
  }

  /** Turn an NLMSG_ERROR/DONE body into an error (or undefined for a positive ack). */
  #ackError(type: number, m: NetlinkMessage, context: string | undefined): NetlinkError | undefined {
    if (m.body.length < 4) return new NetlinkError(rtmName(type), 71 /* EPROTO */, { context, hint: "truncated ack" });
    const view = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
    const err = -view.getInt32(0, true);
    if (err === 0) return undefined;
    let kernelMessage: string | undefined;
    let attributeOffset: number | undefined;
    if (m.flags & NLM_F.ACK_TLVS) {
      // For NLMSG_ERROR the TLVs follow the echoed request: its header only when capped.
      let tlvStart = 4;
      if (m.type === NLMSG.ERROR) {
        if (m.body.length >= 4 + NLMSG_HDRLEN) {
          const echoedLen = view.getUint32(4, true);
          tlvStart = 4 + (m.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : align4(echoedLen));
        }
      }
      const attrs = attrMap(m.body.subarray(Math.min(tlvStart, m.body.length)));
      kernelMessage = attrString(attrs.get(NLMSGERR_ATTR_MSG));
      attributeOffset = attrU32(attrs.get(NLMSGERR_ATTR_OFFS));
    }
    return new NetlinkError(rtmName(type), err, { context, kernelMessage, attributeOffset });
  }

  /**
   * Send a request with `NLM_F_ACK` and wait for the kernel's ack. Returns the messages the
   * kernel sent before the ack (with `NLM_F_ECHO`, the created object). Throws NetlinkError
   * carrying the kernel's extended-ack message.
   */
  request(type: number, flags: number, body: Uint8Array, options: NetlinkRequestOptions = {}): NetlinkMessage[] {
    const seq = this.#send(type, flags | NLM_F.ACK, body, options.context);
    const replies: NetlinkMessage[] = [];
    for (;;) {
      for (const m of this.#receive(type, options.context)) {
        if (m.seq !== seq) continue; // a stale answer to an earlier, abandoned request
        if (m.type === NLMSG.ERROR) {
          const e = this.#ackError(type, m, options.context);
          if (e) throw e;
          return replies;
        }
        replies.push(m);
      }
    }
  }

  /**
   * Send a dump request (`NLM_F_DUMP`) and collect every reply until `NLMSG_DONE`. Throws
   * NetlinkError when the kernel refuses the dump.
   */
  dump(type: number, body: Uint8Array, options: NetlinkRequestOptions & { flags?: number } = {}): NetlinkMessage[] {
    const seq = this.#send(type, NLM_F.DUMP | (options.flags ?? 0), body, options.context);
    const replies: NetlinkMessage[] = [];
    for (;;) {
      for (const m of this.#receive(type, options.context)) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG.DONE || m.type === NLMSG.ERROR) {
          const e = this.#ackError(type, m, options.context);
          if (e) throw e;
          if (m.flags & NLM_F.DUMP_INTR) {
            throw new NetlinkError(rtmName(type), 4, { context: options.context, hint: "the dump was interrupted by a concurrent change; retry" });
          }
          return replies;
        }
        replies.push(m);
      }
    }
  }

  /** Close the socket. Idempotent. */
  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
