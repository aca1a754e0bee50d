/**
 * Queue, stack and bloom filter maps: no keys, a NULL key pointer in every element command.
 * push/pop/peek (queue, stack; min kernel 4.20) and push/contains (bloom filter, 5.16).
 */
import { Errno } from "../errors.js";
import { BpfCmd } from "../sys/bpf.js";
import type { NativeMemory } from "../sys/libc.js";
import { MapElemAttr } from "../sys/map-attr.js";
import type { MapTypeName } from "../spec/map-type.js";
import type { MapAccess } from "./access.js";
import { updateFlags, type SetOptions, type UpdateMode } from "./elem-options.js";

const { ENOENT } = Errno;

/** Types whose keys are not used: queue, stack and bloom filter take a NULL key. */
export const KEYLESS_TYPES: ReadonlySet<MapTypeName> = new Set<MapTypeName>(["queue", "stack", "bloom_filter"]);

/** The element operations of one keyless map, through one attr with a NULL key and the map's value buffer. */
export class KeylessOps<V> {
  readonly #map: MapAccess<unknown, V>;
  readonly #attr: MapElemAttr;
  readonly #valueView: DataView;

  /** `valueMem` is the map's value buffer (the attr points at it). */
  constructor(map: MapAccess<unknown, V>, valueMem: NativeMemory) {
    this.#map = map;
    this.#attr = new MapElemAttr(map.fd, 0, valueMem.address);
    this.#valueView = valueMem.view;
  }

  /** BPF_MAP_UPDATE_ELEM with a NULL key. */
  push(value: V, options: SetOptions | UpdateMode | undefined): void {
    const flags = options === undefined ? 0 : updateFlags(options);
    this.#map.valueCodec.encode(value, this.#valueView, 0);
    const r = this.#attr.update(flags);
    if (r < 0) this.#map.fail(BpfCmd.BPF_MAP_UPDATE_ELEM, r, "push");
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM with a NULL key; undefined when empty. */
  pop(): V | undefined {
    const r = this.#attr.lookupAndDelete(0);
    if (r >= 0) return this.#map.valueCodec.decode(this.#valueView, 0);
    if (r === -ENOENT) return undefined;
    return this.#map.fail(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, r, "pop");
  }

  /** BPF_MAP_LOOKUP_ELEM with a NULL key; undefined when empty. */
  peek(): V | undefined {
    const m = this.#map;
    if (m.typeName === "bloom_filter") throw new TypeError(`${m.label()}: a bloom filter has nothing to peek: use contains(value)`);
    const r = this.#attr.lookup(0);
    if (r >= 0) return m.valueCodec.decode(this.#valueView, 0);
    if (r === -ENOENT) return undefined;
    return m.fail(BpfCmd.BPF_MAP_LOOKUP_ELEM, r, "peek");
  }

  /** A bloom filter lookup of `value`: false means definitely absent. */
  contains(value: V): boolean {
    const m = this.#map;
    if (m.typeName !== "bloom_filter") throw new TypeError(`${m.label()}: contains() is for bloom filters`);
    m.valueCodec.encode(value, this.#valueView, 0);
    const r = this.#attr.lookup(0);
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    return m.fail(BpfCmd.BPF_MAP_LOOKUP_ELEM, r, "contains");
  }
}
