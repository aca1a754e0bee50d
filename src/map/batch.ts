/**
 * The explicit batch operations of a map (BPF_MAP_*_BATCH, min kernel 5.6): reading with a
 * cursor, reading and deleting, updating and deleting many elements in one call. The native
 * buffers are kept per map and reused from call to call.
 */
import { decodeMany } from "../codec.js";
import { checkOptions, Errno } from "../errors.js";
import { BpfCmd } from "../sys/bpf.js";
import { NativeMemory } from "../sys/libc.js";
import { ElemFlags, failMapCall, MapBatchAttr } from "../sys/map-attr.js";
import type { MapAccess } from "./access.js";

const { ENOENT, ENOSPC } = Errno;

/** Options of BpfMap.updateBatch. */
export interface BatchUpdateOptions {
  /** BPF_F_LOCK: update each value under its bpf_spin_lock. */
  lock?: boolean;
}

/** Options of the explicit batch operations. */
export interface BatchOptions {
  /** Where to continue: the `next` of the previous result; omit to start at the beginning. */
  cursor?: MapBatchCursor;
  /** Most elements to return (default 1024). */
  count?: number;
}

/** One batch of elements, and where the next one starts (undefined when the map is exhausted). */
export interface BatchResult<K, V> {
  keys: K[];
  values: V[];
  next: MapBatchCursor | undefined;
}

/** Undecoded elements of a batch (see BpfMap.lookupBatchRaw). */
export interface RawBatchResult {
  /** Elements read. */
  count: number;
  /** `count` keys of keySize bytes each, back to back. */
  keys: Uint8Array;
  /** `count` values, `valueStride` bytes apart (per-CPU maps: all CPUs' slots of one element). */
  values: Uint8Array;
  valueStride: number;
  next: MapBatchCursor | undefined;
}

/**
 * Where a batch operation continues: a copy of the kernel's opaque out_batch token. Cursors
 * are immutable: passing the same cursor twice reads the same batch twice.
 */
export class MapBatchCursor {
  /** @internal */
  readonly token: Uint8Array;
  /** @internal */
  readonly owner: object;
  /** @internal */
  constructor(owner: object, token: Uint8Array) {
    this.owner = owner;
    this.token = token;
  }
}

/** Native buffers a map's batch operations reuse from call to call. */
interface BatchBuffers {
  attr: MapBatchAttr;
  keys: NativeMemory;
  values: NativeMemory;
  tokenIn: NativeMemory;
  tokenOut: NativeMemory;
  capacity: number;
}

/** The batch operations of one map, with its reused buffers. */
export class MapBatches<K, V> {
  readonly #map: MapAccess<K, V>;
  #buffers?: BatchBuffers;

  constructor(map: MapAccess<K, V>) {
    this.#map = map;
  }

  #buffersFor(count: number): BatchBuffers {
    const m = this.#map;
    if (!this.#buffers || this.#buffers.capacity < count) {
      const tokenSize = Math.max(m.keySize, 8);
      this.#buffers = {
        attr: this.#buffers?.attr ?? new MapBatchAttr(m.fd),
        keys: new NativeMemory(Math.max(count * m.keySize, 8)),
        values: new NativeMemory(Math.max(count * m.valueCodec.size, 8)),
        tokenIn: this.#buffers?.tokenIn ?? new NativeMemory(tokenSize),
        tokenOut: this.#buffers?.tokenOut ?? new NativeMemory(tokenSize),
        capacity: count,
      };
    }
    return this.#buffers;
  }

  #count(count: number | undefined, what: string): number {
    const n = count ?? 1024;
    if (!Number.isSafeInteger(n) || n < 1 || n > 1 << 24) throw new RangeError(`${this.#map.label()}: ${what}: count ${n} must be 1..2^24`);
    return n;
  }

  /** Run a reading batch command into the reused buffers; returns the element count and the next cursor. */
  #runRead(cmd: number, options: BatchOptions, step: string): { n: number; buffers: BatchBuffers; next: MapBatchCursor | undefined } {
    const m = this.#map;
    m.live();
    m.requireKeyed(step);
    if (typeof options !== "object" || options === null) throw new TypeError("batch options must be an object");
    checkOptions("batch", options, ["cursor", "count"]);
    const count = this.#count(options.count, step);
    const cursor = options.cursor;
    if (cursor !== undefined && (!(cursor instanceof MapBatchCursor) || cursor.owner !== m.owner)) {
      throw new TypeError(`${m.label()}: ${step}: the cursor belongs to another map or batch`);
    }
    const { attr, keys, values, tokenIn, tokenOut } = this.#buffersFor(count);
    // Tokens travel in per-map native buffers; cursors keep small JS copies (cheaper than
    // native memory per call, and a cursor stays valid whatever happens to the buffers).
    if (cursor) tokenIn.bytes.set(cursor.token);
    attr.setBuffers(cursor ? tokenIn.address : 0, tokenOut.address, keys.address, values.address);
    const r = attr.run(cmd, count);
    if (r < 0 && r !== -ENOENT) {
      if (r === -ENOSPC) {
        failMapCall(cmd, r, `${m.label()}: ${step}`, `a hash bucket holds more than ${count} elements: pass a larger count`);
      }
      m.fail(cmd, r, step);
    }
    const next = r === -ENOENT ? undefined : new MapBatchCursor(m.owner, tokenOut.bytes.slice());
    return { n: attr.count, buffers: this.#buffers!, next };
  }

  /** Read (BPF_MAP_LOOKUP_BATCH) or read and delete (BPF_MAP_LOOKUP_AND_DELETE_BATCH) one batch, decoded. */
  read(cmd: number, options: BatchOptions, step: string): BatchResult<K, V> {
    const m = this.#map;
    const { n, buffers, next } = this.#runRead(cmd, options, step);
    const ks = new Array<K>(n);
    const vs = new Array<V>(n);
    decodeMany(m.keyCodec, buffers.keys.view, 0, m.keySize, n, ks);
    decodeMany(m.valueCodec, buffers.values.view, 0, m.valueCodec.size, n, vs);
    return { keys: ks, values: vs, next };
  }

  /** One BPF_MAP_LOOKUP_BATCH, undecoded: views of the reused buffers (valid until the next batch call). */
  readRaw(options: BatchOptions): RawBatchResult {
    const m = this.#map;
    const { n, buffers, next } = this.#runRead(BpfCmd.BPF_MAP_LOOKUP_BATCH, options, "lookup batch");
    const stride = m.valueCodec.size;
    return {
      count: n,
      keys: buffers.keys.bytes.subarray(0, n * m.keySize),
      values: buffers.values.bytes.subarray(0, n * stride),
      valueStride: stride,
      next,
    };
  }

  /** BPF_MAP_UPDATE_BATCH: every key and value encoded (and checked) before the syscall. Returns how many were set. */
  update(keys: readonly K[], values: readonly V[], options: BatchUpdateOptions | undefined): number {
    const m = this.#map;
    m.live();
    m.requireKeyed("update batch");
    if (!Array.isArray(keys) || !Array.isArray(values)) throw new TypeError(`${m.label()}: update batch: keys and values must be arrays`);
    if (keys.length !== values.length) {
      throw new RangeError(`${m.label()}: update batch: ${keys.length} keys but ${values.length} values`);
    }
    if (keys.length === 0) return 0;
    let flags = 0;
    if (options !== undefined) {
      if (typeof options !== "object" || options === null) throw new TypeError("update batch options must be an object");
      if (Object.hasOwn(options, "mode")) throw new TypeError(`${m.label()}: update batch: the kernel has no "noexist"/"exist" for batches, only lock`);
      checkOptions("update batch", options, ["lock"]);
      if (options.lock) flags = ElemFlags.LOCK;
    }
    const n = this.#count(keys.length, "update batch");
    const { attr, keys: km, values: vm } = this.#buffersFor(n);
    const stride = m.valueCodec.size;
    for (let i = 0; i < n; i++) {
      m.keyCodec.encode(keys[i] as K, km.view, i * m.keySize);
      m.valueCodec.encode(values[i] as V, vm.view, i * stride);
    }
    attr.setBuffers(0, 0, km.address, vm.address);
    const r = attr.run(BpfCmd.BPF_MAP_UPDATE_BATCH, n, flags);
    if (r < 0) m.fail(BpfCmd.BPF_MAP_UPDATE_BATCH, r, `update batch (${attr.count} of ${n} set)`);
    return attr.count;
  }

  /** BPF_MAP_DELETE_BATCH. Returns how many were deleted. */
  delete(keys: readonly K[]): number {
    const m = this.#map;
    m.live();
    m.requireKeyed("delete batch");
    if (!Array.isArray(keys)) throw new TypeError(`${m.label()}: delete batch: keys must be an array`);
    if (keys.length === 0) return 0;
    const n = this.#count(keys.length, "delete batch");
    const { attr, keys: km } = this.#buffersFor(n);
    for (let i = 0; i < n; i++) m.keyCodec.encode(keys[i] as K, km.view, i * m.keySize);
    attr.setBuffers(0, 0, km.address, 0);
    const r = attr.run(BpfCmd.BPF_MAP_DELETE_BATCH, n);
    if (r < 0) m.fail(BpfCmd.BPF_MAP_DELETE_BATCH, r, `delete batch (${attr.count} of ${n} deleted)`);
    return attr.count;
  }
}
