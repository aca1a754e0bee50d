/**
 * `npm run demo`: an XDP packet counter, written in BPF assembly with tsbpf's assembler,
 * loaded into the kernel, and fed packets with BPF_PROG_TEST_RUN: no clang, no network
 * interface needed. Run it as root.
 *
 * The program reads each packet's Ethernet and IPv4 headers and adds one to an array map at
 * the packet's IP protocol number (key 255 for anything that is not IPv4), then lets the
 * packet pass. Afterwards we read the map back and print what was counted.
 */
import { asm, BpfMap, codecs, Program } from "../src/index.js";

const XDP_PASS = 2;
const NOT_IPV4 = 255;
const PROTOCOLS: Record<number, string> = { 1: "ICMP", 6: "TCP", 17: "UDP", [NOT_IPV4]: "not IPv4" };

/** An Ethernet frame: IPv4 with the given protocol, or another EtherType (ARP, IPv6). */
function frame(kind: "tcp" | "udp" | "icmp" | "arp" | "ipv6"): Uint8Array {
  const f = new Uint8Array(64);
  f.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02]); // destination and source MAC
  const etherType = kind === "arp" ? 0x0806 : kind === "ipv6" ? 0x86dd : 0x0800;
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  if (etherType === 0x0800) {
    const protocol = { tcp: 6, udp: 17, icmp: 1 }[kind as "tcp" | "udp" | "icmp"];
    // version 4, header length 5 words, total length 50, TTL 64, 127.0.0.1 → 127.0.0.1
    f.set([0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, protocol, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1], 14);
  }
  return f;
}

// counts[protocol] = number of packets seen with that IP protocol.
using counts = BpfMap.create({ name: "counts", type: "array", key: codecs.u32, value: codecs.u64, maxEntries: 256 });

using counter = Program.load(
  {
    name: "count_packets",
    type: "xdp",
    license: "GPL",
    instructions: asm`
      r2 = *(u32 *)(r1 + 0x0)        ; xdp_md->data
      r3 = *(u32 *)(r1 + 0x4)        ; xdp_md->data_end
      r5 = ${NOT_IPV4}               ; the key, unless this is IPv4
      r4 = r2
      r4 += 0x22                     ; Ethernet (14) + IPv4 (20) headers must fit
      if r4 > r3 goto count
      r6 = *(u16 *)(r2 + 0xc)        ; EtherType, in network byte order
      if r6 != 0x8 goto count        ; 0x0800 (IPv4) read on a little-endian CPU
      r5 = *(u8 *)(r2 + 0x17)        ; IPv4 protocol
    count:
      *(u32 *)(r10 - 0x4) = r5       ; key on the stack
      r1 = map(${"counts"}) ll
      r2 = r10
      r2 += -0x4
      call bpf_map_lookup_elem
      if r0 == 0x0 goto pass
      r1 = 0x1
      lock *(u64 *)(r0 + 0x0) += r1  ; counts[key] += 1, atomically
    pass:
      r0 = ${XDP_PASS}
      exit
    `,
  },
  { maps: { counts } },
);

const info = counter.info();
console.log(`loaded XDP program "${info.name}": id ${info.id}, tag ${info.tag}, ${info.jitedSize} bytes of JIT code`);

// Feed it a little traffic, one test run per packet.
const traffic = [
  ...Array<"udp">(5).fill("udp"),
  ...Array<"tcp">(3).fill("tcp"),
  ...Array<"icmp">(2).fill("icmp"),
  "arp" as const,
  "ipv6" as const,
];
for (const kind of traffic) {
  const { retval } = counter.run({ data: frame(kind) });
  if (retval !== XDP_PASS) throw new Error(`expected XDP_PASS, got ${retval}`);
}
// And one UDP packet 100,000 times in a single call, to time the program in the kernel.
const { durationNs } = counter.run({ data: frame("udp"), repeat: 100_000 });

console.log(`\nsent ${traffic.length} packets, then 100,000 more UDP packets in one repeated run:`);
for (const [protocol, name] of Object.entries(PROTOCOLS)) {
  console.log(`  ${name.padEnd(9)} ${String(counts.get(Number(protocol))).padStart(7)}`);
}
console.log(`\nthe kernel ran the program in ${durationNs} ns per packet (mean over the repeated run)`);
