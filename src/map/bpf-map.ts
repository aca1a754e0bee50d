/**
 * BpfMap: a live kernel map owning one Fd, with typed keys and values. Single-element
 * operations reuse one preallocated attr whose key/value pointers never change, so each costs
 * one codec call and one bpf(2) call. This file holds the handle and its keyed element
 * operations (the hot path); the other jobs live beside it, one module each: create.ts
 * (create, open, by-name pin reuse), info.ts, elem-options.ts, keyless.ts (queue, stack, bloom
 * filter), iterate.ts, batch.ts, and access.ts (what those helpers see of a map).
 */
import { join } from "node:path";
import { bytes, type Codec, perCpu, roundUp } from "../codec.js";
import { Errno, ClosedError, TsbpfError, checkOptions } from "../errors.js";
import { BpfCmd } from "../sys/bpf.js";
import type { Fd } from "../sys/fd.js";
import { NativeMemory } from "../sys/libc.js";
import { ELEM_ATTRS_SIZE, MapElemAttr } from "../sys/map-attr.js";
import { MapFlags, type MapSpec, specType } from "../spec/map-spec.js";
import { getFdById, objGet, objPin, readEach, unpinIfSame } from "../sys/obj.js";
import { mapTypeName, PER_CPU_MAP_TYPES, type MapTypeName, type PerCpuMapTypeName } from "../spec/map-type.js";
import { failMapOp, type MapAccess } from "./access.js";
import { MapBatches, type BatchOptions, type BatchResult, type BatchUpdateOptions, type RawBatchResult } from "./batch.js";
import { accessFlags, createMapFd, openCompatiblePin, specSizes, type MapCreateOptions, type MapDesc, type MapOpenOptions } from "./create.js";
import { getFlags, updateFlags, type GetOptions, type SetOptions, type UpdateMode } from "./elem-options.js";
import { checkIsMap, readInfo, type MapInfo } from "./info.js";
import { ENTRIES, KEYS, MapIteration, VALUES } from "./iterate.js";
import { KeylessOps, KEYLESS_TYPES } from "./keyless.js";
import { MmapArrayView, type MmapOptions } from "./mmap-view.js";
import { possibleCpus } from "./possible-cpus.js";

// The types of the public API that the helper modules define, where they were always imported from.
export type { MapInfo } from "./info.js";
export type { UpdateMode, SetOptions, GetOptions } from "./elem-options.js";
export type { MapCreateOptions, MapOpenOptions } from "./create.js";
export { MapBatchCursor } from "./batch.js";
export type { BatchOptions, BatchResult, BatchUpdateOptions, RawBatchResult } from "./batch.js";

const { ENOENT } = Errno;

/**
 * A live BPF map. K is the JS type of a key, V of a value as userspace sees it (for per-CPU
 * maps, an array with one value per possible CPU). Every operation is synchronous; a wrong key
 * or value is a TypeError/RangeError before the syscall; a kernel refusal is a BpfError; use
 * after close() is a ClosedError.
 *
 * The map owns one fd: close() (or `using`) releases it, which frees the map unless it is pinned
 * or used by a program. A BpfMap that is dropped unclosed is closed by a finalizer.
 */
export class BpfMap<K = Uint8Array, V = Uint8Array> implements Disposable {
  /** The name given at creation (the kernel keeps at most 15 characters). */
  readonly name: string;
  /** UAPI map type number. */
  readonly type: number;
  /** bpftool name of the type (undefined for a type newer than tsbpf). */
  readonly typeName: MapTypeName | undefined;
  readonly keySize: number;
  /** Size of one value (one CPU's value for per-CPU maps). */
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** Number of value slots per element: possible CPUs for per-CPU maps, else 1. */
  readonly cpus: number;
  /** Codec of keys. */
  readonly keyCodec: Codec<K>;
  /** Codec of a whole value as userspace reads it (per-CPU maps: all CPUs). */
  readonly valueCodec: Codec<V>;

  readonly #fd: Fd;
  #closed = false;
  readonly #keyless: boolean;
  readonly #keyView: DataView;
  readonly #valueMem: NativeMemory;
  readonly #valueView: DataView;
  readonly #elem: MapElemAttr;
  #access?: MapAccess<K, V>;
  #keylessOps?: KeylessOps<V>;
  #batches?: MapBatches<K, V>;
  #iteration?: MapIteration<K, V>;
  #pinned?: string;
  /** Whether #pinned is a pin that by-name pinning found and reused (someone else's), not one this map made. */
  #pinReused = false;
  #id?: number;
  // Kept so the attr's key pointer stays valid as long as the map lives.
  readonly #keyMem: NativeMemory;
  /** The value codec as given (one CPU's value), for clone(). */
  readonly #element: Codec<unknown> | undefined;

  private constructor(fd: Fd, desc: MapDesc, key: Codec<K> | undefined, value: Codec<unknown> | undefined) {
    this.#fd = fd;
    this.#element = value;
    this.name = desc.name;
    this.type = desc.type;
    this.typeName = mapTypeName(desc.type);
    this.keySize = desc.keySize;
    this.valueSize = desc.valueSize;
    this.maxEntries = desc.maxEntries;
    this.flags = desc.flags;
    const perCpuType = this.typeName !== undefined && PER_CPU_MAP_TYPES.has(this.typeName);
    this.cpus = perCpuType ? possibleCpus() : 1;
    this.#keyless = this.typeName !== undefined && KEYLESS_TYPES.has(this.typeName) && desc.keySize === 0;

    const label = `map "${desc.name || this.typeName || desc.type}"`;
    if (key && key.size !== desc.keySize) throw new RangeError(`${label}: key codec is ${key.size} bytes but the map's keys are ${desc.keySize}`);
    if (value && value.size !== desc.valueSize) {
      throw new RangeError(`${label}: value codec is ${value.size} bytes but the map's values are ${desc.valueSize}`);
    }
    this.keyCodec = key ?? (bytes(desc.keySize) as unknown as Codec<K>);
    // Raw bytes by default, also for fd-holding maps (pass codecs.objectFd to set fds by number).
    const element: Codec<unknown> = value ?? bytes(desc.valueSize);
    this.valueCodec = (perCpuType ? perCpu(element, this.cpus) : element) as Codec<V>;

    // Key, value and the element attrs in one allocation. Per-CPU values take
    // round_up(value_size, 8) bytes per possible CPU.
    const [keyMem, valueMem, attrs] = NativeMemory.regions([Math.max(desc.keySize, 8), Math.max(this.valueCodec.size, 8), ELEM_ATTRS_SIZE]);
    this.#keyMem = keyMem;
    this.#keyView = keyMem.view;
    this.#valueMem = valueMem;
    this.#valueView = valueMem.view;
    this.#elem = new MapElemAttr(fd.value, keyMem.address, valueMem.address, attrs);
  }

  /**
   * Create a map from a spec (BPF_MAP_CREATE). The caller owns the result and closes it. With
   * `pinning: "by_name"` an existing compatible pin under `options.pinPath` is opened instead,
   * and a new map is pinned there. Min kernel 3.18 (each type has its own minimum).
   * Throws TypeError/RangeError for a bad spec, BpfError when the kernel refuses.
   */
  static create<K = Uint8Array, V = Uint8Array>(
    spec: MapSpec<K, V> & { type: PerCpuMapTypeName },
    options?: MapCreateOptions,
  ): BpfMap<K, V[]>;
  static create<K = Uint8Array, V = Uint8Array>(spec: MapSpec<K, V>, options?: MapCreateOptions): BpfMap<K, V>;
  static create<K, V>(spec: MapSpec<K, V>, options: MapCreateOptions = {}): BpfMap<K, unknown> {
    const sizes = specSizes(spec as MapSpec<unknown, unknown>);
    if (typeof options !== "object" || options === null) throw new TypeError("MapCreateOptions must be an object");
    checkOptions("MapCreateOptions", options, ["pinPath"]);
    const { type, typeName } = specType(spec);
    const label = `map "${spec.name ?? typeName ?? type}"`;
    const desc: MapDesc = { name: spec.name ?? "", type, ...sizes };

    let pinPath: string | undefined;
    if (spec.pinning === "by_name") {
      pinPath = join(options.pinPath ?? "/sys/fs/bpf", spec.name as string);
      const existing = openCompatiblePin(pinPath, desc, label);
      if (existing) {
        try {
          const reused = new BpfMap<K, unknown>(existing.fd, desc, spec.key, spec.value);
          reused.#id = existing.id;
          reused.#pinned = pinPath;
          reused.#pinReused = true;
          return reused;
        } catch (e) {
          existing.fd.close();
          throw e;
        }
      }
    }

    const { fd, flags } = createMapFd(spec as MapSpec<unknown, unknown>, sizes, label, (inner) => BpfMap.create(inner));
    let map: BpfMap<K, unknown>;
    try {
      // The kernel adjusts max_entries of LRU hashes (BPF_F_NO_COMMON_LRU rounds it to a
      // multiple of the CPU count): ask what it made for those only. Other maps learn their id
      // when first asked or pinned (one BPF_OBJ_GET_INFO_BY_FD less per map in Collection.load).
      if (typeName === "lru_hash" || typeName === "lru_percpu_hash") {
        const info = readInfo(fd, label, true);
        map = new BpfMap<K, unknown>(fd, { ...desc, flags, maxEntries: info.maxEntries }, spec.key, spec.value);
        map.#id = info.id;
      } else {
        map = new BpfMap<K, unknown>(fd, { ...desc, flags }, spec.key, spec.value);
      }
      if (pinPath) map.pin(pinPath);
    } catch (e) {
      fd.close();
      throw e;
    }
    return map;
  }

  /**
   * Open the map pinned at `path` (BPF_OBJ_GET). Sizes and type come from the kernel; codecs
   * from `options` must match them. The caller owns the result. Throws BpfError (ENOENT when
   * nothing is pinned there), RangeError for a codec of the wrong size.
   */
  static open<K = Uint8Array, V = Uint8Array>(path: string, options: MapOpenOptions<K, V> = {}): BpfMap<K, V> {
    const flags = accessFlags(options);
    return BpfMap.fromFd(objGet(path, flags, "map"), options);
  }

  /** Open the map with this id (BPF_MAP_GET_FD_BY_ID). The caller owns the result. Throws BpfError (ENOENT). */
  static fromId<K = Uint8Array, V = Uint8Array>(id: number, options: MapOpenOptions<K, V> = {}): BpfMap<K, V> {
    const flags = accessFlags(options);
    return BpfMap.fromFd(getFdById("map", id, flags), options);
  }

  /**
   * The info of every map in the kernel, in id order (BPF_MAP_GET_NEXT_ID, then
   * BPF_OBJ_GET_INFO_BY_FD on each). Maps freed while listing are skipped. Open one with
   * `BpfMap.fromId(info.id)`. Min kernel 4.13. Throws BpfError (EPERM without CAP_SYS_ADMIN).
   */
  static list(): MapInfo[] {
    return readEach("map", (fd, id) => readInfo(fd, `map id ${id}`));
  }

  /**
   * Wrap an fd of an existing map; the BpfMap takes ownership of `fd` (it is closed on error
   * too). Throws BpfError when the fd is not a map.
   */
  static fromFd<K = Uint8Array, V = Uint8Array>(fd: Fd, options: MapOpenOptions<K, V> = {}): BpfMap<K, V> {
    try {
      checkOptions("MapOpenOptions", options, ["key", "value", "access"]);
      checkIsMap(fd);
      const info = readInfo(fd, fd.what);
      const desc: MapDesc = {
        name: info.name,
        type: info.type,
        keySize: info.keySize,
        valueSize: info.valueSize,
        maxEntries: info.maxEntries,
        flags: info.flags,
      };
      const map = new BpfMap<K, V>(fd, desc, options.key, options.value);
      map.#id = info.id;
      return map;
    } catch (e) {
      fd.close();
      throw e;
    }
  }

  /** The raw fd number (valid until close). Throws ClosedError after close. */
  get fd(): number {
    return this.#fd.value;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The path this map was pinned at by pin() or by-name pinning, if any. */
  get pinnedPath(): string | undefined {
    return this.#pinned;
  }

  /** The kernel's id of this map (from info, read once). */
  get id(): number {
    if (this.#id === undefined) {
      this.#live();
      // Only bpf_map_info: the fdinfo that info() reads as well (frozen, memlock) is not needed here.
      this.#id = readInfo(this.#fd, this.#label(), true).id;
    }
    return this.#id;
  }

  #label(): string {
    return `map "${this.name || this.typeName || this.type}"`;
  }

  #live(): void {
    if (this.#closed) throw new ClosedError(this.#label());
  }

  #fail(cmd: number, result: number, step: string): never {
    return failMapOp(cmd, result, `${this.#label()}: ${step}`, this);
  }

  /** What the helper modules (queue ops, iteration, batches) see of this map; made on first use. */
  #helpers(): MapAccess<K, V> {
    if (this.#access) return this.#access;
    // The helpers reach this map's private state only through these closures.
    const map = this;
    this.#access = {
      owner: map,
      get fd() {
        return map.#fd.value;
      },
      keySize: map.keySize,
      maxEntries: map.maxEntries,
      typeName: map.typeName,
      type: map.type,
      keyCodec: map.keyCodec,
      valueCodec: map.valueCodec,
      label: () => map.#label(),
      live: () => map.#live(),
      requireKeyed: (op) => map.#requireKeyed(op),
      fail: (cmd, result, step) => map.#fail(cmd, result, step),
    };
    return this.#access;
  }

  #requireKeyed(op: string): void {
    if (this.#keyless) throw new TypeError(`${this.#label()}: ${this.typeName} maps have no keys: use push/pop/peek${this.typeName === "bloom_filter" ? "/contains" : ""} instead of ${op}`);
  }

  /**
   * The value at `key`, or undefined when there is none (BPF_MAP_LOOKUP_ELEM). For fd-holding
   * maps the kernel returns the held object's id. Throws TypeError/RangeError for a bad key,
   * BpfError, ClosedError.
   */
  get(key: K, options?: GetOptions): V | undefined {
    if (this.#closed) this.#live();
    if (this.#keyless) this.#requireKeyed("get");
    this.keyCodec.encode(key, this.#keyView, 0);
    const r = this.#elem.lookup(options === undefined ? 0 : getFlags(options));
    if (r >= 0) return this.valueCodec.decode(this.#valueView, 0);
    if (r === -ENOENT) return undefined;
    return this.#fail(BpfCmd.BPF_MAP_LOOKUP_ELEM, r, "lookup");
  }

  /**
   * Set `key` to `value` (BPF_MAP_UPDATE_ELEM). `options` is a mode (`"any"`, `"noexist"`,
   * `"exist"`) or `{ mode, lock }`. Throws BpfError: EEXIST for "noexist" on an existing key,
   * ENOENT for "exist" on a missing one, E2BIG when full; TypeError/RangeError for bad input.
   */
  set(key: K, value: V, options?: SetOptions | UpdateMode): void {
    if (this.#closed) this.#live();
    if (this.#keyless) this.#requireKeyed("set");
    const flags = options === undefined ? 0 : updateFlags(options);
    this.keyCodec.encode(key, this.#keyView, 0);
    this.valueCodec.encode(value, this.#valueView, 0);
    const r = this.#elem.update(flags);
    if (r < 0) this.#fail(BpfCmd.BPF_MAP_UPDATE_ELEM, r, "update");
  }

  /** Delete `key` (BPF_MAP_DELETE_ELEM). Returns false when there was no such key. Throws BpfError (EINVAL for arrays). */
  delete(key: K): boolean {
    if (this.#closed) this.#live();
    if (this.#keyless) this.#requireKeyed("delete");
    this.keyCodec.encode(key, this.#keyView, 0);
    const r = this.#elem.delete();
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    return this.#fail(BpfCmd.BPF_MAP_DELETE_ELEM, r, "delete");
  }

  /**
   * The key after `key` in the kernel's order (BPF_MAP_GET_NEXT_KEY), the first key when `key`
   * is undefined, or undefined after the last one. A key that is not in the map gives the first
   * key (hash maps) as the kernel decides. Throws BpfError, ClosedError.
   */
  nextKey(key?: K): K | undefined {
    if (this.#closed) this.#live();
    if (this.#keyless) this.#requireKeyed("nextKey");
    const next = new NativeMemory(Math.max(this.keySize, 8));
    let attr: MapElemAttr;
    if (key === undefined) attr = new MapElemAttr(this.#fd.value, 0, next.address);
    else {
      this.keyCodec.encode(key, this.#keyView, 0);
      attr = new MapElemAttr(this.#fd.value, this.#keyMem.address, next.address);
    }
    const r = attr.nextKey();
    if (r === -ENOENT) return undefined;
    if (r < 0) return this.#fail(BpfCmd.BPF_MAP_GET_NEXT_KEY, r, "next key");
    return this.keyCodec.decode(next.view, 0);
  }

  /** Whether `key` has a value (a lookup that discards the value). */
  has(key: K): boolean {
    if (this.#closed) this.#live();
    if (this.#keyless) this.#requireKeyed("has");
    this.keyCodec.encode(key, this.#keyView, 0);
    const r = this.#elem.lookup(0);
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    return this.#fail(BpfCmd.BPF_MAP_LOOKUP_ELEM, r, "lookup");
  }

  /**
   * Remove `key` and return its value, or undefined when there was none
   * (BPF_MAP_LOOKUP_AND_DELETE_ELEM; hash maps since 5.14). Throws BpfError.
   */
  lookupAndDelete(key: K): V | undefined {
    if (this.#closed) this.#live();
    if (this.#keyless) this.#requireKeyed("lookupAndDelete");
    this.keyCodec.encode(key, this.#keyView, 0);
    const r = this.#elem.lookupAndDelete(0);
    if (r >= 0) return this.valueCodec.decode(this.#valueView, 0);
    if (r === -ENOENT) return undefined;
    return this.#fail(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, r, "lookup and delete");
  }

  #queueOps(op: string): KeylessOps<V> {
    this.#live();
    if (!this.#keyless) throw new TypeError(`${this.#label()}: ${op} is for queue, stack and bloom filter maps, not ${this.typeName ?? this.type}`);
    this.#keylessOps ??= new KeylessOps(this.#helpers() as MapAccess<unknown, V>, this.#valueMem);
    return this.#keylessOps;
  }

  /**
   * Add a value to a queue, stack or bloom filter (BPF_MAP_UPDATE_ELEM with a NULL key). With
   * mode "exist", a full queue or stack drops its oldest value instead of failing (E2BIG).
   * Min kernel 4.20 (bloom filter 5.16).
   */
  push(value: V, options?: SetOptions | UpdateMode): void {
    this.#queueOps("push").push(value, options);
  }

  /** Remove and return the next value of a queue (oldest) or stack (newest); undefined when empty. */
  pop(): V | undefined {
    return this.#queueOps("pop").pop();
  }

  /** The value pop() would return, without removing it; undefined when empty. */
  peek(): V | undefined {
    return this.#queueOps("peek").peek();
  }

  /**
   * Whether a bloom filter may contain `value` (false means definitely not; true may be a false
   * positive). Min kernel 5.16.
   */
  contains(value: V): boolean {
    return this.#queueOps("contains").contains(value);
  }

  // --- iteration ------------------------------------------------------------------------

  /** All [key, value] pairs (same as entries()). */
  [Symbol.iterator](): Generator<[K, V], void, undefined> {
    return this.entries();
  }

  /**
   * All [key, value] pairs, read in batches of up to 4096 (BPF_MAP_LOOKUP_BATCH, 5.6+; fewer
   * for values so large that 4096 would need more than 4 MiB of buffers), or by
   * BPF_MAP_GET_NEXT_KEY + lookup where the kernel has no batch lookup for this type. Elements
   * added or deleted meanwhile may or may not be seen. Throws ClosedError if the map is closed
   * between steps.
   */
  entries(): Generator<[K, V], void, undefined> {
    return this.#iterate().run(ENTRIES) as Generator<[K, V], void, undefined>;
  }

  /** All keys (see entries()). */
  keys(): Generator<K, void, undefined> {
    return this.#iterate().run(KEYS) as Generator<K, void, undefined>;
  }

  /** All values (see entries()). */
  values(): Generator<V, void, undefined> {
    return this.#iterate().run(VALUES) as Generator<V, void, undefined>;
  }

  #iterate(): MapIteration<K, V> {
    this.#iteration ??= new MapIteration(this.#helpers());
    return this.#iteration;
  }

  // --- explicit batches -----------------------------------------------------------------

  #batch(): MapBatches<K, V> {
    this.#batches ??= new MapBatches(this.#helpers());
    return this.#batches;
  }

  /**
   * Like lookupBatch, without decoding: `keys` and `values` are views of this map's reused
   * native buffers holding `count` elements (key i at `i * keySize`, value i at
   * `i * valueStride`). Zero-copy: the views are valid only until the next batch call on this
   * map. For callers that read a few fields in place or copy into their own typed arrays.
   */
  lookupBatchRaw(options: BatchOptions = {}): RawBatchResult {
    return this.#batch().readRaw(options);
  }

  /**
   * Read up to `count` elements (BPF_MAP_LOOKUP_BATCH, min kernel 5.6; hash and array types).
   * Continue with `{ cursor: result.next }` until `next` is undefined. Throws BpfError
   * (EINVAL/ENOTSUPP where this map type has no batch ops).
   */
  lookupBatch(options: BatchOptions = {}): BatchResult<K, V> {
    return this.#batch().read(BpfCmd.BPF_MAP_LOOKUP_BATCH, options, "lookup batch");
  }

  /** Like lookupBatch, and delete what was read (BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6+, hash types). */
  lookupAndDeleteBatch(options: BatchOptions = {}): BatchResult<K, V> {
    return this.#batch().read(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH, options, "lookup and delete batch");
  }

  /**
   * Set many elements in one call (BPF_MAP_UPDATE_BATCH, 5.6+): each key is created or replaced
   * (the kernel has no per-batch NOEXIST/EXIST). Returns how many were set. All keys and values
   * are encoded (and checked) before the syscall. Throws BpfError naming how many elements were
   * set before the failure (E2BIG when the map is full).
   */
  updateBatch(keys: readonly K[], values: readonly V[], options?: BatchUpdateOptions): number {
    return this.#batch().update(keys, values, options);
  }

  /**
   * Delete many keys in one call (BPF_MAP_DELETE_BATCH, 5.6+, hash types). Returns how many
   * were deleted. Throws BpfError (ENOENT for a missing key, naming how many were deleted before it).
   */
  deleteBatch(keys: readonly K[]): number {
    return this.#batch().delete(keys);
  }

  // --- object operations ----------------------------------------------------------------

  /**
   * Make the map read-only from userspace (BPF_MAP_FREEZE, min kernel 5.2); programs may still
   * write unless the map has BPF_F_RDONLY_PROG. Throws BpfError (EBUSY while writably mmapped).
   */
  freeze(): void {
    this.#live();
    const r = this.#elem.freeze();
    if (r < 0) this.#fail(BpfCmd.BPF_MAP_FREEZE, r, "freeze");
  }

  /** Pin the map at `path` on bpffs (BPF_OBJ_PIN). Throws BpfError (EEXIST, EPERM for dots in names). */
  pin(path: string): void {
    this.#live();
    // unpin() compares the pin's id with this map's, also after close(): learn it now.
    void this.id;
    objPin(this.#fd, path, this.#label());
    this.#pinned = path;
    this.#pinReused = false;
  }

  /**
   * Remove the pin this map made by pin() or by-name pinning. Does nothing when not pinned, or
   * when the pin was already removed by someone else. A pin that by-name pinning reused (made by
   * another process or collection) is not this map's to remove: unpin() throws TsbpfError for it
   * unless `{ evenIfReused: true }` is passed. Never removes a pin that refers to another map now
   * (TsbpfError). Throws ClosedError after close.
   */
  unpin(options: { evenIfReused?: boolean } = {}): void {
    const path = this.#pinned;
    if (!path) return;
    checkOptions(`${this.#label()}: unpin`, options, ["evenIfReused"]);
    if (this.#pinReused && options.evenIfReused !== true) {
      throw new TsbpfError(
        `${this.#label()}: unpin ${path}: this map reused a pin made by someone else (pinning "by_name"), so it leaves it in place; pass { evenIfReused: true } to remove it anyway`,
      );
    }
    // A pinned map knows its id (pin() and by-name pinning learn it): unpin works after close() too.
    const id = this.#id ?? (this.#closed ? undefined : this.id);
    if (id === undefined) throw new ClosedError(this.#label());
    unpinIfSame(path, id, this.#label());
    this.#pinned = undefined;
    this.#pinReused = false;
  }

  /** Whether the pin at `pinnedPath` was made by this map (pin() or by-name pinning that created the map), not reused. */
  get pinnedByThis(): boolean {
    return this.#pinned !== undefined && !this.#pinReused;
  }

  /** What the kernel reports about this map (BPF_OBJ_GET_INFO_BY_FD). Throws BpfError, ClosedError. */
  info(): MapInfo {
    this.#live();
    return readInfo(this.#fd, this.#label());
  }

  /**
   * Map a BPF_F_MMAPABLE array into memory and read and write its elements in place, with no
   * syscall and no copy (min kernel 5.5). `codec` reads one element (default: the map's value
   * codec). The view stays valid after the map is closed; close the view to unmap it.
   * Throws TypeError for other map types, SyscallError when mmap fails (EPERM: frozen maps need
   * `{ readonly: true }`).
   */
  mmap<T = V>(codec?: Codec<T>, options: MmapOptions = {}): MmapArrayView<T> {
    this.#live();
    if (this.typeName !== "array" || (this.flags & MapFlags.MMAPABLE) === 0) {
      throw new TypeError(`${this.#label()}: only array maps created with BPF_F_MMAPABLE can be mmapped`);
    }
    const c = (codec ?? (this.valueCodec as unknown as Codec<T>));
    if (c.size !== this.valueSize) throw new RangeError(`${this.#label()}: mmap codec is ${c.size} bytes but values are ${this.valueSize}`);
    return new MmapArrayView<T>(this.#fd.value, c, this.maxEntries, roundUp(this.valueSize, 8), options, this.#label());
  }

  /** A second BpfMap for the same kernel map, with its own fd (dup) and the same codecs. */
  clone(): BpfMap<K, V> {
    this.#live();
    const m = new BpfMap<K, V>(this.#fd.dup(), this, this.keyCodec, this.#element);
    m.#id = this.#id;
    return m;
  }

  /** Close the fd. The kernel frees the map once nothing (pin, program, other fd) holds it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

