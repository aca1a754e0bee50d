/**
 * Walking every element of a map: in batches (BPF_MAP_LOOKUP_BATCH, 5.6+) where the kernel
 * has them for the type, else by BPF_MAP_GET_NEXT_KEY + lookup. One generator serves
 * entries/keys/values, so no nested generators or extra tuples per element.
 */
import { decodeMany } from "../codec.js";
import { Errno } from "../errors.js";
import { BpfCmd } from "../sys/bpf.js";
import { NativeMemory } from "../sys/libc.js";
import { MapBatchAttr, MapElemAttr } from "../sys/map-attr.js";
import type { MapAccess } from "./access.js";

const { ENOENT, EINVAL, ENOSPC, EOPNOTSUPP, ENOTSUPP } = Errno;

/** What an iteration yields. */
export type IterMode = 0 | 1 | 2;
export const ENTRIES = 0;
export const KEYS = 1;
export const VALUES = 2;

/** The iteration of one map; remembers whether the kernel has batch lookup for it. */
export class MapIteration<K, V> {
  readonly #map: MapAccess<K, V>;
  #batchSupported?: boolean;

  constructor(map: MapAccess<K, V>) {
    this.#map = map;
  }

  /**
   * Every element as `mode` says, read in batches of up to 4096 (fewer for values so large that
   * 4096 would need more than 4 MiB of buffers). Throws ClosedError if the map is closed
   * between steps.
   */
  *run(mode: IterMode): Generator<unknown, void, undefined> {
    const m = this.#map;
    m.live();
    m.requireKeyed("iteration");
    if (this.#batchSupported !== false) {
      const keySize = m.keySize;
      const keyCodec = m.keyCodec;
      const valueCodec = m.valueCodec;
      const stride = valueCodec.size;
      let count = Math.max(1, Math.min(m.maxEntries, 4096, Math.floor((4 << 20) / Math.max(1, keySize + stride))));
      const tokenSize = Math.max(keySize, 8);
      let keys = new NativeMemory(Math.max(count * keySize, 8));
      let values = new NativeMemory(Math.max(count * stride, 8));
      let tokIn = new NativeMemory(tokenSize);
      let tokOut = new NativeMemory(tokenSize);
      const attr = new MapBatchAttr(m.fd);
      let ks: K[] = [];
      let vs: V[] = [];
      let first = true;
      for (;;) {
        m.live();
        attr.setBuffers(first ? 0 : tokIn.address, tokOut.address, keys.address, values.address);
        const r = attr.run(BpfCmd.BPF_MAP_LOOKUP_BATCH, count);
        const n = attr.count;
        if (r < 0 && r !== -ENOENT) {
          // A type without batch ops answers ENOTSUPP (without touching count): fall back.
          if (first && (r === -EINVAL || r === -ENOTSUPP || r === -EOPNOTSUPP)) {
            this.#batchSupported = false;
            break;
          }
          if (r === -ENOSPC && n === 0 && count < 1 << 20) {
            // A hash bucket holds more elements than fit: retry from the same place with more room.
            count *= 2;
            keys = new NativeMemory(count * keySize);
            values = new NativeMemory(count * stride);
            continue;
          }
          m.fail(BpfCmd.BPF_MAP_LOOKUP_BATCH, r, "iterate");
        }
        this.#batchSupported = true;
        // Decode the whole batch first: the buffers are reused by the next call.
        if (ks.length < n) {
          ks = new Array<K>(n);
          vs = new Array<V>(n);
        }
        if (mode !== VALUES) decodeMany(keyCodec, keys.view, 0, keySize, n, ks);
        if (mode !== KEYS) decodeMany(valueCodec, values.view, 0, stride, n, vs);
        if (mode === ENTRIES) for (let i = 0; i < n; i++) yield [ks[i], vs[i]];
        else if (mode === KEYS) for (let i = 0; i < n; i++) yield ks[i];
        else for (let i = 0; i < n; i++) yield vs[i];
        if (r === -ENOENT) return;
        [tokIn, tokOut] = [tokOut, tokIn];
        first = false;
      }
    }
    yield* this.#byNextKey(mode);
  }

  /** Iteration by BPF_MAP_GET_NEXT_KEY (+ lookup unless only keys are wanted). */
  *#byNextKey(mode: IterMode): Generator<unknown, void, undefined> {
    const m = this.#map;
    const fd = m.fd;
    const cur = new NativeMemory(Math.max(m.keySize, 8));
    const next = new NativeMemory(Math.max(m.keySize, 8));
    const value = mode !== KEYS ? new NativeMemory(Math.max(m.valueCodec.size, 8)) : undefined;
    const nextAttr = new MapElemAttr(fd, 0, next.address); // NULL key: the first key
    const lookupAttr = value ? new MapElemAttr(fd, next.address, value.address) : undefined;
    const keyBytes = next.bytes.subarray(0, m.keySize);
    for (;;) {
      m.live();
      const r = nextAttr.nextKey();
      if (r === -ENOENT) return;
      if (r < 0) m.fail(BpfCmd.BPF_MAP_GET_NEXT_KEY, r, "iterate");
      if (lookupAttr && value) {
        const lr = lookupAttr.lookup(0);
        if (lr >= 0) {
          const v = m.valueCodec.decode(value.view, 0);
          yield mode === ENTRIES ? [m.keyCodec.decode(next.view, 0), v] : v;
        } else if (lr !== -ENOENT) m.fail(BpfCmd.BPF_MAP_LOOKUP_ELEM, lr, "iterate");
        // ENOENT: deleted since get_next_key; go on from its key.
      } else {
        yield m.keyCodec.decode(next.view, 0);
      }
      cur.bytes.set(keyBytes);
      nextAttr.setKey(cur.address);
    }
  }
}
