/**
 * What the helper modules of BpfMap (iteration, batches, queue ops) need of the map they work
 * for: its fd, sizes and codecs, and its checks. BpfMap makes one per map, lazily; it is not
 * part of the package's API.
 */
import type { Codec } from "../codec.js";
import { Errno } from "../errors.js";
import { BpfCmd } from "../sys/bpf.js";
import { failMapCall } from "../sys/map-attr.js";
import { FD_MAP_TYPES, type MapTypeName } from "../spec/map-type.js";

const { E2BIG, EINVAL, ENOTSUPP } = Errno;

/** A live map as its helpers see it. */
export interface MapAccess<K, V> {
  /** The BpfMap itself: batch cursors are checked against it. */
  readonly owner: object;
  /** The fd number (valid while the map is open; `live()` checks). */
  readonly fd: number;
  readonly keySize: number;
  readonly maxEntries: number;
  readonly typeName: MapTypeName | undefined;
  readonly type: number;
  readonly keyCodec: Codec<K>;
  readonly valueCodec: Codec<V>;
  /** `map "name"` for messages. */
  label(): string;
  /** Throws ClosedError after close. */
  live(): void;
  /** Throws TypeError for a keyless map (queue, stack, bloom filter), naming `op`. */
  requireKeyed(op: string): void;
  /** Throws the BpfError of a failed command, with a hint where the errno has a usual cause. */
  fail(cmd: number, result: number, step: string): never;
}

/** What usually causes errno `e` of map command `cmd` on this map, for the BpfError's hint. */
export function mapFailHint(cmd: number, e: number, map: { readonly maxEntries: number; readonly typeName: MapTypeName | undefined }): string | undefined {
  if (e === E2BIG && cmd === BpfCmd.BPF_MAP_UPDATE_ELEM) return `the map is full (max_entries ${map.maxEntries}) or the index is out of range`;
  if (e === EINVAL && cmd === BpfCmd.BPF_MAP_DELETE_ELEM) return "elements of array-like maps cannot be deleted";
  if (e === EINVAL && map.typeName !== undefined && FD_MAP_TYPES.has(map.typeName) && cmd === BpfCmd.BPF_MAP_UPDATE_ELEM) {
    return "the value must be the fd of an object this map can hold";
  }
  if (e === 1 && cmd === BpfCmd.BPF_MAP_UPDATE_ELEM) return "the map is frozen or read-only from userspace";
  if (e === ENOTSUPP && cmd >= BpfCmd.BPF_MAP_LOOKUP_BATCH && cmd <= BpfCmd.BPF_MAP_DELETE_BATCH) {
    return `${map.typeName ?? "this"} maps have no batch operations: use entries()/set()/delete()`;
  }
  return undefined;
}

/** Throw the BpfError of map command `cmd` that returned `result` (a negative errno). */
export function failMapOp(
  cmd: number,
  result: number,
  context: string,
  map: { readonly maxEntries: number; readonly typeName: MapTypeName | undefined },
): never {
  return failMapCall(cmd, result, context, mapFailHint(cmd, -result, map));
}
