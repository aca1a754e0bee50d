/**
 * pcap and pcapng: what is written reads back the same, files in either byte order and time
 * unit read right, and any bytes end in packets or a ParseError (never another exception).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildPacket } from "../../src/bench/packet.js";
import { captureFormat, readCapture, writePcap, writePcapng, type PacketToWrite } from "../../src/bench/pcap.js";
import { isParseError } from "../../src/errors.js";

const packetsArb = fc.array(fc.record({
  data: fc.uint8Array({ maxLength: 300 }),
  timestampNs: fc.bigInt({ min: 0n, max: (1n << 32n) * 1_000_000_000n - 1n }),
}), { maxLength: 20 });

describe("pcap and pcapng round trips", () => {
  it.each([["pcap", writePcap], ["pcapng", writePcapng]] as const)("%s: written packets read back identical", (format, write) => {
    fc.assert(fc.property(packetsArb, (packets) => {
      const file = write(packets);
      expect(captureFormat(file)).toBe(format);
      const back = readCapture(file);
      expect(back.map((p) => ({ data: Uint8Array.from(p.data), timestampNs: p.timestampNs, linkType: p.linkType, originalLength: p.originalLength })))
        .toEqual(packets.map((p) => ({ data: p.data, timestampNs: p.timestampNs, linkType: 1, originalLength: p.data.length })));
    }));
  });

  it("reads a mix of built frames from either format", () => {
    const frames: PacketToWrite[] = [buildPacket({ protocol: "udp", size: 64 }), buildPacket({ protocol: "tcp", ipVersion: 6, size: 1514 }), buildPacket({ protocol: "icmp", vlan: 9 })].map((data, i) => ({ data, timestampNs: BigInt(i) * 1000n }));
    for (const file of [writePcap(frames), writePcapng(frames)]) {
      expect(readCapture(file).map((p) => p.data.length)).toEqual([64, 1514, 64]);
    }
  });

  it("stops at maxPackets", () => {
    const file = writePcapng([{ data: new Uint8Array(20) }, { data: new Uint8Array(30) }, { data: new Uint8Array(40) }]);
    expect(readCapture(file, { maxPackets: 2 }).map((p) => p.data.length)).toEqual([20, 30]);
  });
});

describe("pcap files from other writers", () => {
  it("reads a big-endian microsecond pcap (as tcpdump writes on big-endian machines)", () => {
    const file = new Uint8Array(24 + 16 + 4);
    const v = new DataView(file.buffer);
    v.setUint32(0, 0xa1b2c3d4, false);
    v.setUint16(4, 2, false);
    v.setUint16(6, 4, false);
    v.setUint32(16, 65535, false);
    v.setUint32(20, 1, false);
    v.setUint32(24, 1700000000, false);
    v.setUint32(28, 250000, false);
    v.setUint32(32, 4, false);
    v.setUint32(36, 60, false);
    file.set([1, 2, 3, 4], 40);
    expect(readCapture(file)).toEqual([{ data: Uint8Array.from([1, 2, 3, 4]), originalLength: 60, timestampNs: 1700000000250000000n, linkType: 1 }]);
  });

  it("reads a big-endian pcapng section with a microsecond interface and a simple packet block", () => {
    const be = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
    const bytes = [
      ...be(0x0a0d0d0a), ...be(28), ...be(0x1a2b3c4d), 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...be(28),
      ...be(1), ...be(20), 0, 1, 0, 0, ...be(0), ...be(20),
      ...be(6), ...be(36), ...be(0), ...be(0), ...be(3_000_000), ...be(3), ...be(3), 7, 8, 9, 0, ...be(36),
      ...be(3), ...be(20), ...be(2), 5, 6, 0, 0, ...be(20),
    ];
    expect(readCapture(Uint8Array.from(bytes))).toEqual([
      { data: Uint8Array.from([7, 8, 9]), originalLength: 3, timestampNs: 3_000_000_000n, linkType: 1 },
      { data: Uint8Array.from([5, 6]), originalLength: 2, timestampNs: 0n, linkType: 1 },
    ]);
  });
});

describe("bad captures", () => {
  it.each([
    { name: "empty", bytes: new Uint8Array(0), message: /not a pcap or pcapng/ },
    { name: "short pcap header", bytes: writePcap([]).subarray(0, 20), message: /file header needs 24 bytes/ },
    { name: "truncated pcap record", bytes: writePcap([{ data: new Uint8Array(10) }]).subarray(0, 24 + 16 + 5), message: /claims 10 bytes but 5 remain/ },
    { name: "pcapng block longer than the file", bytes: writePcapng([{ data: new Uint8Array(10) }]).subarray(0, 80), message: /has length 44 \(20 bytes remain/ },
    { name: "pcapng packet before its interface", bytes: Uint8Array.from([...writePcapng([]).subarray(0, 28), ...writePcapng([{ data: new Uint8Array(4) }]).subarray(60)]), message: /names interface 0, but the section has 0/ },
  ])("$name: a ParseError that says what is wrong", ({ bytes, message }) => {
    let error: unknown;
    try {
      readCapture(bytes);
    } catch (e) {
      error = e;
    }
    expect(isParseError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it("any bytes end in packets or a ParseError, within the file's bounds", () => {
    const seeds = [writePcap([{ data: new Uint8Array(30) }]), writePcapng([{ data: new Uint8Array(30) }])];
    fc.assert(fc.property(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), (seed, edits, cut) => {
      const bytes = Uint8Array.from(seed).subarray(0, Math.max(0, seed.length - (cut % 8)));
      for (const [at, value] of edits) if (bytes.length) bytes[at % bytes.length] = value;
      try {
        const packets = readCapture(bytes);
        for (const p of packets) expect(p.data.length).toBeLessThanOrEqual(bytes.length);
      } catch (e) {
        expect(isParseError(e)).toBe(true);
      }
    }), { numRuns: 2000 });
  });
});
