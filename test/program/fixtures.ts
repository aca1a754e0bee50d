/**
 * Programs and maps the program tests share. Maps are made with the raw map attrs so these
 * tests do not depend on the BpfMap layer.
 */
import {
  atomic, call, exit, instructions, jeq, label, ldMapFd, mov64, st, R0, R1, R2, R10, add64,
} from "../../src/asm/builder.js";
import type { Instruction } from "../../src/asm/instruction.js";
import { BpfCmd } from "../../src/sys/bpf.js";
import { Fd } from "../../src/sys/fd.js";
import { NativeMemory } from "../../src/sys/libc.js";
import { failMapCall, mapCreate, MapElemAttr } from "../../src/sys/map-attr.js";

/** XDP_PASS, XDP_DROP… */
export const XDP_DROP = 1;
export const XDP_PASS = 2;

/** `return value;` */
export function returns(value: number): Instruction[] {
  return instructions(mov64(R0, value), exit());
}

/** An XDP program that adds 1 to the u64 at key 0 of the array map `mapName` and passes the packet. */
export function countingXdp(mapName: string): Instruction[] {
  return instructions(
    st("u32", R10, -4, 0),
    mov64(R2, R10),
    add64(R2, -4),
    ldMapFd(R1, mapName),
    call("map_lookup_elem"),
    jeq(R0, 0, "out"),
    mov64(R1, 1),
    atomic("add", "u64", R0, R1, 0),
    label("out"),
    mov64(R0, XDP_PASS),
    exit(),
  );
}

/** A u32 → u64 array map with `entries` entries, owned by the caller. */
export function arrayMap(entries = 1): Fd {
  return new Fd(mapCreate({ mapType: 2, keySize: 4, valueSize: 8, maxEntries: entries }, "test map"), "test map");
}

/** The u64 at `key` of an array map made by arrayMap. */
export function readU64(map: Fd, key: number): bigint {
  const k = new NativeMemory(4);
  const v = new NativeMemory(8);
  k.view.setUint32(0, key, true);
  const attr = new MapElemAttr(map.value, k.address, v.address);
  const r = attr.lookup();
  if (r < 0) failMapCall(BpfCmd.BPF_MAP_LOOKUP_ELEM, r, "test map lookup");
  return v.view.getBigUint64(0, true);
}

/** A minimal Ethernet + IPv4 + UDP frame (60 bytes) for XDP and skb test runs. */
export function udpFrame(): Uint8Array {
  const f = new Uint8Array(60);
  f.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], 0); // dst, src MAC, IPv4
  f.set([0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1], 14); // IPv4 header
  f.set([0x30, 0x39, 0x00, 0x35, 0, 26, 0, 0], 34); // UDP 12345 → 53
  return f;
}
