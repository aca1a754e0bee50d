/** Raw-byte map element writes for link kinds that fill kernel-defined values (USDT specs, struct_ops). */
import { BpfCmd } from "../sys/bpf.js";
import { NativeMemory } from "../sys/libc.js";
import { failMapCall, MapElemAttr } from "../sys/map-attr.js";

/** BPF_MAP_UPDATE_ELEM with raw key and value bytes. Throws BpfError (with `hint` for E2BIG/EINVAL). */
export function rawMapUpdate(mapFd: number, key: Uint8Array, value: Uint8Array, context: string, hint?: string): void {
  const k = new NativeMemory(key.length);
  k.bytes.set(key);
  const val = new NativeMemory(value.length);
  val.bytes.set(value);
  const r = new MapElemAttr(mapFd, k.address, val.address).update(0);
  if (r < 0) failMapCall(BpfCmd.BPF_MAP_UPDATE_ELEM, r, context, hint);
}

/** BPF_MAP_DELETE_ELEM with a raw key. Returns false for ENOENT; throws BpfError otherwise. */
export function rawMapDelete(mapFd: number, key: Uint8Array, context: string): boolean {
  const k = new NativeMemory(key.length);
  k.bytes.set(key);
  const r = new MapElemAttr(mapFd, k.address, 0).delete();
  if (r === -2) return false;
  if (r < 0) failMapCall(BpfCmd.BPF_MAP_DELETE_ELEM, r, context);
  return true;
}

/** A u32 key in host (little-endian) order. */
export function u32Key(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
