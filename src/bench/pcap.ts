/**
 * A small, bounded reader and writer of packet captures: classic pcap (either byte order,
 * microsecond or nanosecond timestamps) and pcapng (Section Header, Interface Description,
 * Enhanced and Simple Packet blocks; other blocks are skipped). Every length is checked against
 * the bytes that back it, so bad input ends in a ParseError that names the offset, and memory
 * grows only with the file. Pure: bytes in, packets out.
 *
 * Why not an npm parser: the maintained ones (pcap-parser, pcap-ng-parser) are stream readers
 * of one format each, with no writer and untyped errors.
 */
import { ParseError } from "../errors.js";

/** One captured packet. */
export interface CapturedPacket {
  /** The captured bytes (a view into the file's bytes; copy them to keep them past the file). */
  readonly data: Uint8Array;
  /** The packet's length on the wire (≥ `data.length` when the capture was truncated). */
  readonly originalLength: number;
  /** Capture time in ns since the epoch. */
  readonly timestampNs: bigint;
  /** Link type of the interface it was captured on (1 = Ethernet). */
  readonly linkType: number;
}

/** Options of `readCapture`. */
export interface ReadCaptureOptions {
  /** Stop after this many packets (default: all). */
  maxPackets?: number;
}

/** LINKTYPE_ETHERNET. */
export const LINKTYPE_ETHERNET = 1;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const PCAPNG_IDB = 0x00000001;
const PCAPNG_SPB = 0x00000003;
const PCAPNG_EPB = 0x00000006;

/** Which format `bytes` holds, from its first four bytes, or undefined. */
export function captureFormat(bytes: Uint8Array): "pcap" | "pcapng" | undefined {
  if (bytes.length < 4) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = v.getUint32(0, true);
  const be = v.getUint32(0, false);
  if (le === PCAPNG_SHB) return "pcapng";
  for (const m of [le, be]) if (m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS) return "pcap";
  return undefined;
}

function maxOf(options: ReadCaptureOptions | undefined): number {
  const max = options?.maxPackets ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`readCapture: maxPackets must be a non-negative integer, got ${String(max)}`);
  return max;
}

/**
 * Read every packet of a pcap or pcapng capture. Throws ParseError (with the byte offset) for
 * a truncated or malformed file, RangeError for bad options.
 */
export function readCapture(bytes: Uint8Array, options?: ReadCaptureOptions): CapturedPacket[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("readCapture: bytes must be a Uint8Array");
  const format = captureFormat(bytes);
  if (format === "pcap") return readPcap(bytes, maxOf(options));
  if (format === "pcapng") return readPcapng(bytes, maxOf(options));
  throw new ParseError("capture: not a pcap or pcapng file (unknown magic number)", { offset: 0 });
}

function readPcap(bytes: Uint8Array, max: number): CapturedPacket[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24) throw new ParseError(`pcap: file header needs 24 bytes, the file has ${bytes.length}`, { offset: 0 });
  const le = v.getUint32(0, true) === PCAP_MAGIC_US || v.getUint32(0, true) === PCAP_MAGIC_NS;
  const magic = v.getUint32(0, le);
  const nsUnits = magic === PCAP_MAGIC_NS;
  const linkType = v.getUint32(20, le) & 0x0fffffff;
  const snaplen = v.getUint32(16, le);
  const packets: CapturedPacket[] = [];
  let off = 24;
  while (off < bytes.length && packets.length < max) {
    if (bytes.length - off < 16) throw new ParseError(`pcap: record header at ${off} is truncated`, { offset: off });
    const sec = v.getUint32(off, le);
    const frac = v.getUint32(off + 4, le);
    const incl = v.getUint32(off + 8, le);
    const orig = v.getUint32(off + 12, le);
    if (incl > bytes.length - off - 16) {
      throw new ParseError(`pcap: record at ${off} claims ${incl} bytes but ${bytes.length - off - 16} remain`, { offset: off + 8 });
    }
    if (snaplen > 0 && incl > Math.max(snaplen, 262144)) {
      throw new ParseError(`pcap: record at ${off} holds ${incl} bytes, more than the snapshot length ${snaplen}`, { offset: off + 8 });
    }
    packets.push({
      data: bytes.subarray(off + 16, off + 16 + incl),
      originalLength: orig,
      timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * (nsUnits ? 1n : 1000n),
      linkType,
    });
    off += 16 + incl;
  }
  return packets;
}

interface Interface {
  linkType: number;
  /** ns per timestamp unit as a fraction: units per second. */
  unitsPerSecond: bigint;
}

function readPcapng(bytes: Uint8Array, max: number): CapturedPacket[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const packets: CapturedPacket[] = [];
  let le = true;
  let interfaces: Interface[] = [];
  let off = 0;
  let sawSection = false;
  while (off < bytes.length && packets.length < max) {
    if (bytes.length - off < 12) throw new ParseError(`pcapng: block header at ${off} is truncated`, { offset: off });
    const rawType = v.getUint32(off, true);
    if (rawType === PCAPNG_SHB) {
      if (bytes.length - off < 28) throw new ParseError(`pcapng: section header at ${off} is truncated`, { offset: off });
      const bom = v.getUint32(off + 8, true);
      if (bom === PCAPNG_BOM) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new ParseError(`pcapng: section header at ${off} has an unknown byte-order magic 0x${bom.toString(16)}`, { offset: off + 8 });
      interfaces = [];
      sawSection = true;
    } else if (!sawSection) {
      throw new ParseError("pcapng: the file does not start with a section header block", { offset: 0 });
    }
    const type = v.getUint32(off, le);
    const len = v.getUint32(off + 4, le);
    if (len < 12 || len % 4 !== 0 || len > bytes.length - off) {
      throw new ParseError(`pcapng: block at ${off} has length ${len} (${bytes.length - off} bytes remain; lengths are multiples of 4, at least 12)`, { offset: off + 4 });
    }
    if (v.getUint32(off + len - 4, le) !== len) {
      throw new ParseError(`pcapng: block at ${off}: trailing length differs from leading length ${len}`, { offset: off + len - 4 });
    }
    const body = off + 8;
    const bodyLen = len - 12;
    if (type === PCAPNG_IDB) {
      if (bodyLen < 8) throw new ParseError(`pcapng: interface block at ${off} is too short`, { offset: off });
      interfaces.push({ linkType: v.getUint16(body, le), unitsPerSecond: interfaceUnits(v, body + 8, body + bodyLen, le) });
    } else if (type === PCAPNG_EPB) {
      if (bodyLen < 20) throw new ParseError(`pcapng: packet block at ${off} is too short`, { offset: off });
      const ifIndex = v.getUint32(body, le);
      const iface = interfaces[ifIndex];
      if (iface === undefined) throw new ParseError(`pcapng: packet block at ${off} names interface ${ifIndex}, but the section has ${interfaces.length}`, { offset: body });
      const ts = (BigInt(v.getUint32(body + 4, le)) << 32n) | BigInt(v.getUint32(body + 8, le));
      const caplen = v.getUint32(body + 12, le);
      const orig = v.getUint32(body + 16, le);
      if (caplen > bodyLen - 20) throw new ParseError(`pcapng: packet block at ${off} claims ${caplen} bytes but holds ${bodyLen - 20}`, { offset: body + 12 });
      packets.push({
        data: bytes.subarray(body + 20, body + 20 + caplen),
        originalLength: orig,
        timestampNs: (ts * 1_000_000_000n) / iface.unitsPerSecond,
        linkType: iface.linkType,
      });
    } else if (type === PCAPNG_SPB) {
      if (bodyLen < 4) throw new ParseError(`pcapng: simple packet block at ${off} is too short`, { offset: off });
      const iface = interfaces[0];
      if (iface === undefined) throw new ParseError(`pcapng: simple packet block at ${off} before any interface block`, { offset: off });
      const orig = v.getUint32(body, le);
      const caplen = Math.min(orig, bodyLen - 4);
      packets.push({ data: bytes.subarray(body + 4, body + 4 + caplen), originalLength: orig, timestampNs: 0n, linkType: iface.linkType });
    }
    off += len;
  }
  return packets;
}

/** The if_tsresol option of an interface block (default 10^-6 s). */
function interfaceUnits(v: DataView, start: number, end: number, le: boolean): bigint {
  let off = start;
  while (end - off >= 4) {
    const code = v.getUint16(off, le);
    const len = v.getUint16(off + 2, le);
    if (code === 0) break;
    if (len > end - off - 4) throw new ParseError(`pcapng: interface option at ${off} runs past its block`, { offset: off });
    if (code === 9 && len >= 1) {
      const r = v.getUint8(off + 4);
      const exp = BigInt(r & 0x7f);
      if (exp > 30n) throw new ParseError(`pcapng: if_tsresol ${r} at ${off} is finer than this reader takes`, { offset: off + 4 });
      return r & 0x80 ? 1n << exp : 10n ** exp;
    }
    off += 4 + ((len + 3) & ~3);
  }
  return 1_000_000n;
}

/** A packet to write: bytes and, optionally, a timestamp (ns since the epoch). */
export interface PacketToWrite {
  readonly data: Uint8Array;
  readonly timestampNs?: bigint;
  readonly originalLength?: number;
}

/** Options of `writePcap` and `writePcapng`. */
export interface WriteCaptureOptions {
  /** Link type of every packet (default 1, Ethernet). */
  linkType?: number;
  /** Snapshot length written in the header (default 262144). */
  snaplen?: number;
}

/** Write a classic pcap file, little-endian, nanosecond timestamps. */
export function writePcap(packets: readonly PacketToWrite[], options: WriteCaptureOptions = {}): Uint8Array {
  let size = 24;
  for (const p of packets) size += 16 + p.data.length;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, PCAP_MAGIC_NS, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, options.snaplen ?? 262144, true);
  v.setUint32(20, options.linkType ?? LINKTYPE_ETHERNET, true);
  let off = 24;
  for (const p of packets) {
    const ts = p.timestampNs ?? 0n;
    v.setUint32(off, Number(ts / 1_000_000_000n), true);
    v.setUint32(off + 4, Number(ts % 1_000_000_000n), true);
    v.setUint32(off + 8, p.data.length, true);
    v.setUint32(off + 12, p.originalLength ?? p.data.length, true);
    out.set(p.data, off + 16);
    off += 16 + p.data.length;
  }
  return out;
}

/** Write a pcapng file: one section, one interface (nanosecond resolution), Enhanced Packet Blocks. */
export function writePcapng(packets: readonly PacketToWrite[], options: WriteCaptureOptions = {}): Uint8Array {
  const pad = (n: number) => (n + 3) & ~3;
  let size = 28 + 32; // SHB, IDB with if_tsresol and opt_endofopt
  for (const p of packets) size += 32 + pad(p.data.length);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, PCAPNG_SHB, true);
  v.setUint32(4, 28, true);
  v.setUint32(8, PCAPNG_BOM, true);
  v.setUint16(12, 1, true);
  v.setUint16(14, 0, true);
  v.setBigInt64(16, -1n, true); // section length unknown
  v.setUint32(24, 28, true);
  let off = 28;
  v.setUint32(off, PCAPNG_IDB, true);
  v.setUint32(off + 4, 32, true);
  v.setUint16(off + 8, options.linkType ?? LINKTYPE_ETHERNET, true);
  v.setUint32(off + 12, options.snaplen ?? 262144, true);
  v.setUint16(off + 16, 9, true); // if_tsresol
  v.setUint16(off + 18, 1, true);
  out[off + 20] = 9; // 10^-9 s
  v.setUint32(off + 24, 0, true); // opt_endofopt
  v.setUint32(off + 28, 32, true);
  off += 32;
  for (const p of packets) {
    const len = 32 + pad(p.data.length);
    const ts = p.timestampNs ?? 0n;
    v.setUint32(off, PCAPNG_EPB, true);
    v.setUint32(off + 4, len, true);
    v.setUint32(off + 8, 0, true);
    v.setUint32(off + 12, Number(ts >> 32n), true);
    v.setUint32(off + 16, Number(ts & 0xffffffffn), true);
    v.setUint32(off + 20, p.data.length, true);
    v.setUint32(off + 24, p.originalLength ?? p.data.length, true);
    out.set(p.data, off + 28);
    v.setUint32(off + len - 4, len, true);
    off += len;
  }
  return out;
}
