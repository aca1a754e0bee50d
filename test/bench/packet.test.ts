/**
 * Packet builders: checksums against published examples, whole frames against golden bytes
 * (checked by hand), every checksum verified for any options (fast-check), and the kernel's own
 * view: an XDP program (bpf/bench/packet_parse.c) parses each frame and returns what it read.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildPacket, headerSize, internetChecksum, parsePacketSpec, type PacketOptions } from "../../src/bench/packet.js";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fromHex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

describe("internetChecksum", () => {
  it("gives RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2, checksum 0x220d", () => {
    expect(internetChecksum(fromHex("0001f203f4f5f6f7"))).toBe(0x220d);
  });
  it("gives the textbook IPv4 header checksum (0xb861)", () => {
    expect(internetChecksum(fromHex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7"))).toBe(0xb861);
  });
  it("pads an odd length with a zero byte", () => {
    expect(internetChecksum(fromHex("01"))).toBe(internetChecksum(fromHex("0100")));
  });
});

describe("buildPacket golden bytes", () => {
  it.each([
    {
      // ICMP echo over 802.1Q: checksums worked by hand (IPv4 0x26de, ICMP ~0x0802 = 0xf7fd).
      name: "icmp, vlan 7, no payload",
      options: { protocol: "icmp", vlan: 7, payload: 0 } as PacketOptions,
      bytes: "020000000002 020000000001 8100 0007 0800 4500001c00014000400126de0a0000010a000002 0800f7fd00010001",
    },
    {
      name: "udp, 60 bytes (default addresses and ports)",
      options: { size: 60 } as PacketOptions,
      bytes: "020000000002 020000000001 0800 4500002e00014000401126bc0a0000010a000002 30390050001a72dd 000102030405060708090a0b0c0d0e0f1011",
    },
    {
      name: "tcp over IPv6, 4-byte payload",
      options: { protocol: "tcp", ipVersion: 6, payload: 4 } as PacketOptions,
      bytes: "020000000002 020000000001 86dd 6000000000180640 fd000000000000000000000000000001 fd000000000000000000000000000002 3039005000000001000000005002ffff834c0000 00010203",
    },
  ])("$name", ({ options, bytes }) => {
    expect(hex(buildPacket(options))).toBe(bytes.replace(/\s+/g, ""));
  });
});

/** Verify every checksum of a frame independently; returns the L4 protocol seen. */
function verify(frame: Uint8Array): { l4: number; payload: number } {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let off = 12;
  let proto = v.getUint16(off);
  while (proto === 0x8100 || proto === 0x88a8) {
    off += 4;
    proto = v.getUint16(off);
  }
  off += 2;
  let l4: number;
  let l4Len: number;
  let pseudo: Uint8Array;
  if (proto === 0x0800) {
    expect(internetChecksum(frame.subarray(off, off + 20))).toBe(0);
    l4 = frame[off + 9];
    l4Len = v.getUint16(off + 2) - 20;
    pseudo = new Uint8Array([...frame.subarray(off + 12, off + 20), 0, l4, l4Len >> 8, l4Len & 0xff]);
    off += 20;
  } else {
    l4 = frame[off + 6];
    l4Len = v.getUint16(off + 4);
    pseudo = new Uint8Array([...frame.subarray(off + 8, off + 40), 0, 0, l4Len >> 8, l4Len & 0xff, 0, 0, 0, l4]);
    off += 40;
  }
  expect(off + l4Len).toBe(frame.length);
  const segment = frame.subarray(off);
  if (l4 === 1) expect(internetChecksum(segment)).toBe(0);
  else if (l4 === 6 || l4 === 17 || l4 === 58) expect(internetChecksum(new Uint8Array([...pseudo, ...segment]))).toBe(0);
  const hdr = l4 === 6 ? 20 : l4 === 17 || l4 === 1 || l4 === 58 ? 8 : 0;
  return { l4, payload: l4Len - hdr };
}

const optionsArb: fc.Arbitrary<PacketOptions> = fc.record({
  protocol: fc.constantFrom("udp", "tcp", "icmp", "none"),
  ipVersion: fc.constantFrom(4, 6),
  payload: fc.integer({ min: 0, max: 1500 }),
  vlan: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 4095 }), fc.array(fc.integer({ min: 0, max: 4095 }), { minLength: 2, maxLength: 2 })),
  srcPort: fc.integer({ min: 0, max: 65535 }),
  tcpFlags: fc.integer({ min: 0, max: 255 }),
}, { requiredKeys: ["protocol", "ipVersion", "payload"] }) as fc.Arbitrary<PacketOptions>;

describe("buildPacket", () => {
  it("writes valid IP and L4 checksums and exact lengths for any options", () => {
    fc.assert(fc.property(optionsArb, (o) => {
      const frame = buildPacket(o);
      expect(frame.length).toBe(headerSize(o) + (o.payload as number));
      expect(verify(frame).payload).toBe(o.payload);
    }));
  });

  it("fills a frame to exactly `size` bytes", () => {
    for (const size of [42, 64, 128, 1514]) expect(buildPacket({ size }).length).toBe(size);
  });

  it("refuses what cannot be built, naming it", () => {
    expect(() => buildPacket({ size: 20 })).toThrow(/smaller than the 42 bytes of headers/);
    expect(() => buildPacket({ src: "10.0.0.300" })).toThrow(TypeError);
    expect(() => buildPacket({ ipVersion: 6, src: "10.0.0.1" })).toThrow(/must be IPv6/);
    expect(() => buildPacket({ vlan: [1, 2, 3] })).toThrow(/at most two VLAN tags/);
    expect(() => buildPacket({ size: 64, payload: 3 })).toThrow(/size or payload/);
    expect(() => buildPacket({ colour: "red" } as PacketOptions)).toThrow(/unknown option "colour"/);
  });
});

describe("parsePacketSpec", () => {
  it.each([
    { text: "udp,size=64", want: { protocol: "udp", size: 64 } },
    { text: "tcp,ipv6,size=1500", want: { protocol: "tcp", ipVersion: 6, size: 1500 } },
    { text: "icmp,vlan=100.10,payload=18", want: { protocol: "icmp", vlan: [100, 10], payload: 18 } },
    { text: "udp,src=10.1.1.1,dst=10.1.1.2,sport=1000,dport=443", want: { protocol: "udp", src: "10.1.1.1", dst: "10.1.1.2", srcPort: 1000, dstPort: 443 } },
  ])("$text", ({ text, want }) => {
    expect(parsePacketSpec(text)).toEqual(want);
  });
  it("names the part it does not know", () => {
    expect(() => parsePacketSpec("udp,sizes=64")).toThrow(/unknown part "sizes=64"/);
    expect(() => parsePacketSpec("udp,size=big")).toThrow(/size needs a number/);
  });
});

describeKernel("buildPacket against the kernel (bpf/bench/packet_parse.c)", () => {
  const cases: { name: string; options: PacketOptions }[] = [
    { name: "udp ipv4 64", options: { protocol: "udp", size: 64, srcPort: 4000, dstPort: 53, ttl: 17 } },
    { name: "udp ipv4 odd payload", options: { protocol: "udp", payload: 33 } },
    { name: "tcp ipv4 syn-ack", options: { protocol: "tcp", payload: 100, tcpFlags: 0x12, src: "192.168.7.9", dst: "172.16.0.1" } },
    { name: "icmp ipv4 vlan", options: { protocol: "icmp", vlan: 42, payload: 56 } },
    { name: "udp ipv6 qinq", options: { protocol: "udp", ipVersion: 6, vlan: [300, 20], size: 200 } },
    { name: "tcp ipv6", options: { protocol: "tcp", src: "2001:db8::1", dst: "2001:db8::ff", payload: 1200 } },
    { name: "icmpv6", options: { protocol: "icmp", ipVersion: 6, payload: 7 } },
    { name: "udp jumbo-ish", options: { protocol: "udp", size: 1514 } },
  ];

  itKernel.each(cases)("$name: the kernel reads the fields asked for and both checksums verify", ({ options }) => {
    using coll = Collection.load(CollectionSpec.fromFile("bpf/bench/packet_parse.o"));
    const frame = buildPacket(options);
    const r = coll.programs.parse.run({ data: frame });
    expect(r.retval).toBe(2); // XDP_PASS: parsed to the end
    const bytes = coll.variables.parsed.value as Uint8Array;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const u32 = (off: number) => v.getUint32(off, true);
    const vlans = options.vlan === undefined ? [] : typeof options.vlan === "number" ? [options.vlan] : options.vlan;
    const v6 = options.ipVersion === 6 || (options.src ?? "").includes(":");
    const proto = { udp: 17, tcp: 6, icmp: v6 ? 58 : 1, none: 59 }[options.protocol ?? "udp"];
    expect({
      frameLen: u32(0), vlanCount: u32(4), outerTpid: u32(8), vlanIds: [u32(12), u32(16)].slice(0, vlans.length),
      ethProto: u32(20), ipVersion: u32(24), l4: u32(28), ttl: u32(32), ipv4CsumOk: u32(40), l4CsumOk: u32(108),
      payloadLen: u32(112),
    }).toEqual({
      frameLen: frame.length, vlanCount: vlans.length, outerTpid: vlans.length === 0 ? 0 : vlans.length === 2 ? 0x88a8 : 0x8100,
      vlanIds: vlans, ethProto: v6 ? 0x86dd : 0x0800, ipVersion: v6 ? 6 : 4, l4: proto, ttl: options.ttl ?? 64,
      ipv4CsumOk: v6 ? 0 : 1, l4CsumOk: 1, payloadLen: frame.length - headerSize(options),
    });
    if (proto === 17 || proto === 6) {
      expect([u32(84), u32(88)]).toEqual([options.srcPort ?? 12345, options.dstPort ?? 80]);
    }
    if (proto === 6) expect(u32(96)).toBe(options.tcpFlags ?? 0x02);
    if (proto === 1 || proto === 58) expect(u32(100)).toBe(v6 ? 128 : 8);
    if (!v6) {
      const ip = (o: number) => [...bytes.subarray(o, o + 4)].join(".");
      expect([ip(44), ip(48)]).toEqual([options.src ?? "10.0.0.1", options.dst ?? "10.0.0.2"]);
    }
  });

  itKernel("a corrupted checksum is seen as corrupted by the kernel program (the check can fail)", () => {
    using coll = Collection.load(CollectionSpec.fromFile("bpf/bench/packet_parse.o"));
    const frame = buildPacket({ protocol: "udp", size: 80 });
    frame[frame.length - 1] ^= 0xff;
    coll.programs.parse.run({ data: frame });
    const bytes = coll.variables.parsed.value as Uint8Array;
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(108, true)).toBe(0);
  });
});
