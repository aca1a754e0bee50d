/**
 * Packet builders for benchmark inputs: an Ethernet frame with optional 802.1Q/802.1ad tags,
 * IPv4 or IPv6, and TCP, UDP, ICMP/ICMPv6 or no L4 header, with valid checksums and a payload
 * of a chosen size. Pure: bytes in, bytes out. `parsePacketSpec` reads the CLI's
 * `udp,size=64` form.
 */
import { checkOptions } from "../errors.js";

/** The L4 protocol of a built packet. `"icmp"` is ICMPv6 over IPv6. */
export type PacketProtocol = "udp" | "tcp" | "icmp" | "none";

/** What `buildPacket` builds. Every field is optional; defaults give a 64-byte IPv4 UDP frame. */
export interface PacketOptions {
  /** L4 protocol (default `"udp"`). */
  protocol?: PacketProtocol;
  /** IP version (default 4; 6 when `src`/`dst` are IPv6 addresses). */
  ipVersion?: 4 | 6;
  /**
   * Total frame size in bytes, Ethernet header to the end of the payload (no FCS). The payload
   * fills what the headers leave; a size smaller than the headers is a RangeError. Give `size`
   * or `payload`, not both. Default: 64 bytes when neither is given.
   */
  size?: number;
  /** The payload bytes, or a payload length (filled with 0, 1, 2, …). */
  payload?: Uint8Array | number;
  /** Source and destination MAC addresses, `aa:bb:cc:dd:ee:ff` (defaults 02:00:00:00:00:01 → 02:00:00:00:00:02). */
  srcMac?: string;
  dstMac?: string;
  /**
   * VLAN ids, outermost first: one gives an 802.1Q tag (TPID 0x8100), two give 802.1ad QinQ
   * (outer TPID 0x88a8, inner 0x8100).
   */
  vlan?: number | readonly number[];
  /** Source and destination IP addresses (defaults 10.0.0.1 → 10.0.0.2, fd00::1 → fd00::2). */
  src?: string;
  dst?: string;
  /** IPv4 TTL / IPv6 hop limit (default 64). */
  ttl?: number;
  /** Source and destination ports for TCP/UDP (defaults 12345 → 80). */
  srcPort?: number;
  dstPort?: number;
  /** TCP flags byte (default 0x02, SYN). */
  tcpFlags?: number;
  /** TCP sequence number (default 1). */
  seq?: number;
  /** ICMP identifier and sequence of the echo request (defaults 1, 1). */
  icmpId?: number;
  icmpSeq?: number;
}

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const IPPROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, none: 59 } as const;
const OPTION_KEYS = new Set([
  "protocol", "ipVersion", "size", "payload", "srcMac", "dstMac", "vlan", "src", "dst", "ttl",
  "srcPort", "dstPort", "tcpFlags", "seq", "icmpId", "icmpSeq",
]);

/** The Internet checksum (RFC 1071) of `bytes`, starting from the partial sum `initial`. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const n = bytes.length;
  for (let i = 0; i + 1 < n; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (n & 1) sum += bytes[n - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The unfolded one's-complement sum of a pseudo-header's 16-bit words. */
function wordSum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  return sum;
}

/** Parse a MAC address `aa:bb:cc:dd:ee:ff`. Throws TypeError. */
export function parseMac(text: string): Uint8Array {
  const parts = typeof text === "string" ? text.split(":") : [];
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`packet: ${JSON.stringify(text)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Parse a dotted IPv4 address into 4 bytes, or undefined. */
function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

/** Parse an IPv6 address (with `::`, and an embedded IPv4 tail) into 16 bytes, or undefined. */
function parseIpv6(text: string): Uint8Array | undefined {
  if (!text.includes(":")) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const words = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

/** Parse an IPv4 or IPv6 address. Throws TypeError. */
export function parseIp(text: string): Uint8Array {
  const bytes = typeof text === "string" ? (parseIpv4(text) ?? parseIpv6(text)) : undefined;
  if (!bytes) throw new TypeError(`packet: ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
  return bytes;
}

function uint(value: unknown, name: string, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`packet: ${name} must be an integer in [0, ${max}], got ${String(value)}`);
  }
  return value;
}

function l4HeaderSize(protocol: PacketProtocol): number {
  return protocol === "tcp" ? 20 : protocol === "udp" ? 8 : protocol === "icmp" ? 8 : 0;
}

/** Size of the headers `buildPacket` writes for these options (Ethernet + tags + IP + L4). */
export function headerSize(options: PacketOptions = {}): number {
  const vlans = options.vlan === undefined ? 0 : typeof options.vlan === "number" ? 1 : options.vlan.length;
  const v6 = resolveVersion(options) === 6;
  return 14 + 4 * vlans + (v6 ? 40 : 20) + l4HeaderSize(options.protocol ?? "udp");
}

function resolveVersion(options: PacketOptions): 4 | 6 {
  if (options.ipVersion !== undefined) return options.ipVersion;
  const addr = options.src ?? options.dst;
  return addr !== undefined && addr.includes(":") ? 6 : 4;
}

/**
 * Build an Ethernet frame: tags, IP header, L4 header with a valid checksum (UDP, TCP, ICMP,
 * ICMPv6 over their pseudo-headers), then the payload. Throws TypeError for an unknown option
 * or a malformed address, RangeError for a size the headers do not fit in or an out-of-range
 * field.
 */
export function buildPacket(options: PacketOptions = {}): Uint8Array {
  checkOptions("packet", options, OPTION_KEYS);
  const protocol = options.protocol ?? "udp";
  if (!["udp", "tcp", "icmp", "none"].includes(protocol)) throw new TypeError(`packet: unknown protocol ${JSON.stringify(protocol)} (udp, tcp, icmp, none)`);
  const version = resolveVersion(options);
  if (version !== 4 && version !== 6) throw new RangeError(`packet: ipVersion must be 4 or 6, got ${String(version)}`);
  const v6 = version === 6;
  const vlans = options.vlan === undefined ? [] : typeof options.vlan === "number" ? [options.vlan] : [...options.vlan];
  if (vlans.length > 2) throw new RangeError("packet: at most two VLAN tags (802.1ad outer, 802.1Q inner)");
  vlans.forEach((id, i) => uint(id, `vlan[${i}]`, 4095));
  const src = parseIp(options.src ?? (v6 ? "fd00::1" : "10.0.0.1"));
  const dst = parseIp(options.dst ?? (v6 ? "fd00::2" : "10.0.0.2"));
  const addrLen = v6 ? 16 : 4;
  if (src.length !== addrLen || dst.length !== addrLen) throw new TypeError(`packet: addresses must be IPv${version} for an IPv${version} packet`);
  const ttl = uint(options.ttl ?? 64, "ttl", 255);

  const headers = headerSize({ ...options, ipVersion: version });
  let payload: Uint8Array;
  if (options.size !== undefined && options.payload !== undefined) throw new TypeError("packet: give size or payload, not both");
  if (options.payload instanceof Uint8Array) {
    payload = options.payload;
  } else {
    const len = options.payload !== undefined
      ? uint(options.payload, "payload", 65535)
      : uint(options.size ?? 64, "size", 65535 + headers) - headers;
    if (len < 0) throw new RangeError(`packet: size ${options.size} is smaller than the ${headers} bytes of headers`);
    payload = new Uint8Array(len);
    for (let i = 0; i < len; i++) payload[i] = i & 0xff;
  }
  const l4Len = l4HeaderSize(protocol) + payload.length;
  if (l4Len > 65535 - (v6 ? 0 : 20)) throw new RangeError(`packet: a ${payload.length}-byte payload does not fit in one IP packet`);

  const frame = new Uint8Array(headers + payload.length);
  const view = new DataView(frame.buffer);
  frame.set(parseMac(options.dstMac ?? "02:00:00:00:00:02"), 0);
  frame.set(parseMac(options.srcMac ?? "02:00:00:00:00:01"), 6);
  let off = 12;
  vlans.forEach((id, i) => {
    view.setUint16(off, vlans.length === 2 && i === 0 ? ETH_P_8021AD : ETH_P_8021Q);
    view.setUint16(off + 2, id);
    off += 4;
  });
  view.setUint16(off, v6 ? ETH_P_IPV6 : ETH_P_IP);
  off += 2;

  const proto = protocol === "icmp" ? (v6 ? IPPROTO.icmpv6 : IPPROTO.icmp) : IPPROTO[protocol];
  const ipStart = off;
  if (v6) {
    view.setUint32(off, 0x60000000);
    view.setUint16(off + 4, l4Len);
    frame[off + 6] = proto;
    frame[off + 7] = ttl;
    frame.set(src, off + 8);
    frame.set(dst, off + 24);
    off += 40;
  } else {
    frame[off] = 0x45;
    view.setUint16(off + 2, 20 + l4Len);
    view.setUint16(off + 4, 1); // identification
    view.setUint16(off + 6, 0x4000); // don't fragment
    frame[off + 8] = ttl;
    frame[off + 9] = proto === IPPROTO.none ? 253 : proto; // 253: experimental, "no L4"
    frame.set(src, off + 12);
    frame.set(dst, off + 16);
    view.setUint16(off + 10, internetChecksum(frame.subarray(ipStart, ipStart + 20)));
    off += 20;
  }

  const l4 = off;
  if (protocol === "udp" || protocol === "tcp") {
    view.setUint16(l4, uint(options.srcPort ?? 12345, "srcPort", 65535));
    view.setUint16(l4 + 2, uint(options.dstPort ?? 80, "dstPort", 65535));
  }
  if (protocol === "udp") {
    view.setUint16(l4 + 4, l4Len);
  } else if (protocol === "tcp") {
    view.setUint32(l4 + 4, uint(options.seq ?? 1, "seq", 0xffffffff));
    frame[l4 + 12] = 5 << 4; // data offset: 5 words
    frame[l4 + 13] = uint(options.tcpFlags ?? 0x02, "tcpFlags", 255);
    view.setUint16(l4 + 14, 65535); // window
  } else if (protocol === "icmp") {
    frame[l4] = v6 ? 128 : 8; // echo request
    view.setUint16(l4 + 4, uint(options.icmpId ?? 1, "icmpId", 65535));
    view.setUint16(l4 + 6, uint(options.icmpSeq ?? 1, "icmpSeq", 65535));
  }
  frame.set(payload, l4 + l4HeaderSize(protocol));

  if (protocol !== "none") {
    const segment = frame.subarray(l4, l4 + l4Len);
    // ICMPv4 has no pseudo-header; UDP, TCP and ICMPv6 sum one over the addresses.
    let pseudo = 0;
    if (!(protocol === "icmp" && !v6)) {
      pseudo = wordSum(src) + wordSum(dst) + proto + l4Len;
    }
    let sum = internetChecksum(segment, pseudo);
    if (protocol === "udp" && sum === 0) sum = 0xffff; // RFC 768: 0 means "no checksum"
    const at = protocol === "udp" ? 6 : protocol === "tcp" ? 16 : 2;
    view.setUint16(l4 + at, sum);
  }
  return frame;
}

/**
 * Parse the CLI's packet form: a protocol, then `key=value` pairs, comma-separated:
 * `udp,size=64`, `tcp,ipv6,size=1500`, `icmp,vlan=10`, `udp,vlan=100.10,payload=18`,
 * `tcp,src=10.1.1.1,dst=10.1.1.2,sport=1000,dport=443`. Throws TypeError naming the bad part.
 */
export function parsePacketSpec(text: string): PacketOptions {
  const out: PacketOptions = {};
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    const num = (): number => {
      if (!/^\d+$/.test(value)) throw new TypeError(`packet spec ${JSON.stringify(text)}: ${key} needs a number, got ${JSON.stringify(value)}`);
      return Number(value);
    };
    switch (key) {
      case "udp": case "tcp": case "icmp": case "none": out.protocol = key; break;
      case "ipv4": case "ip4": out.ipVersion = 4; break;
      case "ipv6": case "ip6": out.ipVersion = 6; break;
      case "size": out.size = num(); break;
      case "payload": out.payload = num(); break;
      case "vlan": out.vlan = value.split(".").map((v) => {
        if (!/^\d+$/.test(v)) throw new TypeError(`packet spec ${JSON.stringify(text)}: vlan needs ids like 10 or 100.10`);
        return Number(v);
      }); break;
      case "src": out.src = value; break;
      case "dst": out.dst = value; break;
      case "smac": out.srcMac = value; break;
      case "dmac": out.dstMac = value; break;
      case "sport": out.srcPort = num(); break;
      case "dport": out.dstPort = num(); break;
      case "ttl": out.ttl = num(); break;
      case "flags": out.tcpFlags = num(); break;
      default:
        throw new TypeError(`packet spec ${JSON.stringify(text)}: unknown part ${JSON.stringify(part)} (udp|tcp|icmp|none, ipv4|ipv6, size=, payload=, vlan=, src=, dst=, smac=, dmac=, sport=, dport=, ttl=, flags=)`);
    }
  }
  return out;
}
