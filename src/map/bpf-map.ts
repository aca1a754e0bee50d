/**
 * BpfMap: a live kernel map owning one Fd, with typed keys and values. Single-element
 * operations reuse one preallocated attr whose key/value pointers never change, so each costs
 * one codec call and one bpf(2) call.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bytes, type Codec, decodeMany, perCpu, roundUp } from "../codec.js";
import { Errno, ClosedError, TsbpfError, checkOptions, unknownOption } from "../errors.js";
import { BpfCmd } from "../sys/bpf.js";
import { Fd } from "../sys/fd.js";
import { NativeMemory } from "../sys/libc.js";
import { ElemFlags, failMapCall, MapBatchAttr, mapCreate, MapElemAttr, MAP_INFO_SIZE, readMapInfo, type RawMapInfo } from "../sys/map-attr.js";
import { MapFlags } from "../spec/map-spec.js";
import { BPF_F_RDONLY, BPF_F_WRONLY, getFdById, objGet, objGetInfoByFd, objPin, readEach, unpinIfSame } from "../sys/obj.js";
import { raiseMemlockLimitIfCharged } from "../features/memlock.js";
import { checkMapSpec, fdOf, kernelMapName, type MapSpec, specType } from "../spec/map-spec.js";
import { FD_MAP_TYPES, mapTypeName, PER_CPU_MAP_TYPES, type MapTypeName, type PerCpuMapTypeName } from "../spec/map-type.js";
import { MmapArrayView, type MmapOptions } from "./mmap-view.js";
import { possibleCpus } from "./possible-cpus.js";

const { ENOENT, E2BIG, EINVAL, ENOSPC, EOPNOTSUPP, ENOTSUPP } = Errno;

/** How an update treats an existing key: BPF_ANY, BPF_NOEXIST or BPF_EXIST. */
export type UpdateMode = "any" | "noexist" | "exist";

/** Options of BpfMap.set / push / updateBatch. */
export interface SetOptions {
  /** "any" (default) creates or replaces; "noexist" only creates; "exist" only replaces. */
  mode?: UpdateMode;
  /** BPF_F_LOCK: update under the value's bpf_spin_lock (the value's BTF must have one). */
  lock?: boolean;
}

/** Options of BpfMap.updateBatch. */
export interface BatchUpdateOptions {
  /** BPF_F_LOCK: update each value under its bpf_spin_lock. */
  lock?: boolean;
}

/** Options of BpfMap.get. */
export interface GetOptions {
  /** BPF_F_LOCK: read under the value's bpf_spin_lock. */
  lock?: boolean;
}

/** Options of BpfMap.create. */
export interface MapCreateOptions {
  /** Directory for `pinning: "by_name"` (default /sys/fs/bpf). */
  pinPath?: string;
}

/** Options of BpfMap.open / fromId / fromFd: codecs for the existing map, and access mode. */
export interface MapOpenOptions<K, V> {
  key?: Codec<K>;
  /** Codec of one value (one CPU's value for per-CPU maps). */
  value?: Codec<V>;
  /** Open read-only (BPF_F_RDONLY) or write-only (BPF_F_WRONLY). */
  access?: "readwrite" | "readonly" | "writeonly";
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

/** What the kernel reports about a map (BPF_OBJ_GET_INFO_BY_FD, `struct bpf_map_info`). */
export interface MapInfo {
  /** UAPI type number. */
  type: number;
  /** bpftool name of the type, undefined for a type newer than tsbpf. */
  typeName: MapTypeName | undefined;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  ifindex: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxValueTypeId: number;
  btfVmlinuxId: number;
  netnsDev: bigint;
  netnsIno: bigint;
  mapExtra: bigint;
  /** Whether BPF_MAP_FREEZE was called (from /proc/self/fdinfo; false when procfs is missing). */
  frozen: boolean;
}

function toInfo(raw: RawMapInfo): MapInfo {
  return {
    type: raw.type,
    typeName: mapTypeName(raw.type),
    id: raw.id,
    keySize: raw.keySize,
    valueSize: raw.valueSize,
    maxEntries: raw.maxEntries,
    flags: raw.mapFlags,
    name: raw.name,
    ifindex: raw.ifindex,
    btfId: raw.btfId,
    btfKeyTypeId: raw.btfKeyTypeId,
    btfValueTypeId: raw.btfValueTypeId,
    btfVmlinuxValueTypeId: raw.btfVmlinuxValueTypeId,
    btfVmlinuxId: raw.btfVmlinuxId,
    netnsDev: raw.netnsDev,
    netnsIno: raw.netnsIno,
    mapExtra: raw.mapExtra,
    frozen: false,
  };
}

function readInfo(fd: Fd, what: string, fresh = false): MapInfo {
  const mem = new NativeMemory(MAP_INFO_SIZE);
  objGetInfoByFd(fd, mem, what);
  const info = toInfo(readMapInfo(mem));
  // A map created a moment ago is not frozen: skip procfs (an open and two reads per map).
  if (fresh) return info;
  // bpf_map_info has no frozen flag; the fdinfo the kernel prints for the map does.
  try {
    info.frozen = /^frozen:\s*1$/m.test(readFileSync(`/proc/self/fdinfo/${fd.value}`, "utf8"));
  } catch {
    // no procfs
  }
  return info;
}

function updateFlags(options: SetOptions | UpdateMode | undefined): number {
  if (options === undefined) return ElemFlags.ANY;
  if (typeof options === "string") return modeFlag(options);
  if (typeof options !== "object" || options === null) throw new TypeError("update options must be an object or a mode string");
  for (const k in options) if (k !== "mode" && k !== "lock") throw unknownOption("update", k, ["mode", "lock"]);
  return modeFlag(options.mode ?? "any") | (options.lock ? ElemFlags.LOCK : 0);
}

function modeFlag(mode: UpdateMode): number {
  switch (mode) {
    case "any": return ElemFlags.ANY;
    case "noexist": return ElemFlags.NOEXIST;
    case "exist": return ElemFlags.EXIST;
    default: throw new TypeError(`update mode must be "any", "noexist" or "exist", got ${JSON.stringify(mode)}`);
  }
}

function getFlags(options: GetOptions | undefined): number {
  if (options === undefined) return 0;
  if (typeof options !== "object" || options === null) throw new TypeError("lookup options must be an object");
  for (const k in options) if (k !== "lock") throw unknownOption("lookup", k, ["lock"]);
  return options.lock ? ElemFlags.LOCK : 0;
}

/** What an iteration yields. */
type IterMode = 0 | 1 | 2;
const ENTRIES = 0;
const KEYS = 1;
const VALUES = 2;

/** Types whose keys are not used: queue, stack and bloom filter take a NULL key. */
const KEYLESS_TYPES: ReadonlySet<MapTypeName> = new Set<MapTypeName>(["queue", "stack", "bloom_filter"]);

/** Native buffers an explicit batch operation reuses from call to call. */
interface BatchBuffers {
  attr: MapBatchAttr;
  keys: NativeMemory;
  values: NativeMemory;
  tokenIn: NativeMemory;
  tokenOut: NativeMemory;
  capacity: number;
}

/** What a BpfMap is, as its constructor needs it. */
interface MapDesc {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

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
  #nullKey?: MapElemAttr;
  #batch?: BatchBuffers;
  #batchSupported?: boolean;
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

    this.#keyMem = new NativeMemory(Math.max(desc.keySize, 8));
    this.#keyView = this.#keyMem.view;
    // Per-CPU values take round_up(value_size, 8) bytes per possible CPU.
    this.#valueMem = new NativeMemory(Math.max(this.valueCodec.size, 8));
    this.#valueView = this.#valueMem.view;
    this.#elem = new MapElemAttr(fd.value, this.#keyMem.address, this.#valueMem.address);
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
    const sizes = checkMapSpec(spec as MapSpec<unknown, unknown>);
    if (specType(spec).typeName === "perf_event_array") {
      // A perf event array without a size gets one slot per possible CPU, as libbpf and
      // cilium/ebpf give it: that is what a perf buffer reader fills. Its key (a CPU index) and
      // value (a perf event fd) are u32s, which many objects leave 0; cilium fills them in too.
      if (sizes.maxEntries === 0) sizes.maxEntries = possibleCpus();
      if (sizes.keySize === 0) sizes.keySize = 4;
      if (sizes.valueSize === 0) sizes.valueSize = 4;
    }
    if (typeof options !== "object" || options === null) throw new TypeError("MapCreateOptions must be an object");
    checkOptions("MapCreateOptions", options, ["pinPath"]);
    const { type, typeName } = specType(spec);
    const name = spec.name === undefined ? "" : kernelMapName(spec.name);
    const label = `map "${spec.name ?? typeName ?? type}"`;
    const desc: MapDesc = { name: spec.name ?? "", type, ...sizes };

    let pinPath: string | undefined;
    if (spec.pinning === "by_name") {
      pinPath = join(options.pinPath ?? "/sys/fs/bpf", spec.name as string);
      const existing = BpfMap.#openCompatiblePin(pinPath, desc, label);
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

    raiseMemlockLimitIfCharged();
    let flags = sizes.flags;
    let innerFd = 0;
    let innerTemp: BpfMap<unknown, unknown> | undefined;
    if (spec.innerMap !== undefined) {
      if (typeof (spec.innerMap as { fd?: unknown }).fd !== "number") {
        innerTemp = BpfMap.create(spec.innerMap as MapSpec<unknown, unknown>);
        innerFd = innerTemp.fd;
      } else {
        innerFd = fdOf(spec.innerMap as { readonly fd: number }, `${label}: innerMap`);
      }
    }
    if (spec.numaNode !== undefined) flags |= MapFlags.NUMA_NODE;
    if (spec.valueTypeBtfObj !== undefined) flags |= MapFlags.VTYPE_BTF_OBJ_FD;
    if (spec.token !== undefined) flags |= MapFlags.TOKEN_FD;
    let fdNum: number;
    try {
      fdNum = mapCreate(
        {
          mapType: type,
          keySize: sizes.keySize,
          valueSize: sizes.valueSize,
          maxEntries: sizes.maxEntries,
          mapFlags: flags,
          innerMapFd: innerFd,
          numaNode: spec.numaNode,
          mapName: name,
          mapIfindex: spec.ifindex,
          btfFd: spec.btf === undefined ? 0 : fdOf(spec.btf, `${label}: btf`),
          btfKeyTypeId: spec.btfKeyTypeId,
          btfValueTypeId: spec.btfValueTypeId,
          btfVmlinuxValueTypeId: spec.btfVmlinuxValueTypeId,
          mapExtra: spec.mapExtra === undefined ? 0n : BigInt(spec.mapExtra),
          valueTypeBtfObjFd: spec.valueTypeBtfObj === undefined ? 0 : fdOf(spec.valueTypeBtfObj, `${label}: valueTypeBtfObj`),
          mapTokenFd: spec.token === undefined ? 0 : fdOf(spec.token, `${label}: token`),
        },
        `${label}: create (type ${typeName ?? type}, key ${sizes.keySize} B, value ${sizes.valueSize} B, max_entries ${sizes.maxEntries}, flags 0x${flags.toString(16)})`,
      );
    } finally {
      innerTemp?.close();
    }
    const fd = new Fd(fdNum, label);
    let map: BpfMap<K, unknown>;
    try {
      // The kernel may adjust max_entries (LRU maps with BPF_F_NO_COMMON_LRU round it up to a
      // multiple of the CPU count): report what it made, and learn the id on the way.
      const info = readInfo(fd, label, true);
      map = new BpfMap<K, unknown>(fd, { ...desc, flags, maxEntries: info.maxEntries }, spec.key, spec.value);
      map.#id = info.id;
      if (pinPath) map.pin(pinPath);
    } catch (e) {
      fd.close();
      throw e;
    }
    return map;
  }

  static #openCompatiblePin(path: string, desc: MapDesc, label: string): { fd: Fd; id: number } | undefined {
    let fd: Fd;
    try {
      fd = objGet(path, 0, label);
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return undefined;
      throw e;
    }
    const info = readInfo(fd, label);
    const diffs: string[] = [];
    if (info.type !== desc.type) diffs.push(`type ${info.type} ≠ ${desc.type}`);
    if (info.keySize !== desc.keySize) diffs.push(`key size ${info.keySize} ≠ ${desc.keySize}`);
    if (info.valueSize !== desc.valueSize) diffs.push(`value size ${info.valueSize} ≠ ${desc.valueSize}`);
    if (info.maxEntries !== desc.maxEntries) diffs.push(`max entries ${info.maxEntries} ≠ ${desc.maxEntries}`);
    if (info.flags !== desc.flags) diffs.push(`flags 0x${info.flags.toString(16)} ≠ 0x${desc.flags.toString(16)}`);
    if (diffs.length) {
      fd.close();
      throw new TsbpfError(`${label}: pinned map at ${path} is incompatible with the spec (${diffs.join(", ")}): unlink it or change the spec`);
    }
    return { fd, id: info.id };
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
    if (this.#id === undefined) this.#id = this.info().id;
    return this.#id;
  }

  #label(): string {
    return `map "${this.name || this.typeName || this.type}"`;
  }

  #live(): void {
    if (this.#closed) throw new ClosedError(this.#label());
  }

  #fail(cmd: number, result: number, step: string): never {
    const e = -result;
    let hint: string | undefined;
    if (e === E2BIG && cmd === BpfCmd.BPF_MAP_UPDATE_ELEM) hint = `the map is full (max_entries ${this.maxEntries}) or the index is out of range`;
    else if (e === EINVAL && cmd === BpfCmd.BPF_MAP_DELETE_ELEM) hint = "elements of array-like maps cannot be deleted";
    else if (e === EINVAL && this.typeName !== undefined && FD_MAP_TYPES.has(this.typeName) && cmd === BpfCmd.BPF_MAP_UPDATE_ELEM) {
      hint = "the value must be the fd of an object this map can hold";
    } else if (e === 1 && cmd === BpfCmd.BPF_MAP_UPDATE_ELEM) hint = "the map is frozen or read-only from userspace";
    else if (e === ENOTSUPP && cmd >= BpfCmd.BPF_MAP_LOOKUP_BATCH && cmd <= BpfCmd.BPF_MAP_DELETE_BATCH) {
      hint = `${this.typeName ?? "this"} maps have no batch operations: use entries()/set()/delete()`;
    }
    return failMapCall(cmd, result, `${this.#label()}: ${step}`, hint);
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

  #keylessAttr(op: string): MapElemAttr {
    this.#live();
    if (!this.#keyless) throw new TypeError(`${this.#label()}: ${op} is for queue, stack and bloom filter maps, not ${this.typeName ?? this.type}`);
    this.#nullKey ??= new MapElemAttr(this.#fd.value, 0, this.#valueMem.address);
    return this.#nullKey;
  }

  /**
   * Add a value to a queue, stack or bloom filter (BPF_MAP_UPDATE_ELEM with a NULL key). With
   * mode "exist", a full queue or stack drops its oldest value instead of failing (E2BIG).
   * Min kernel 4.20 (bloom filter 5.16).
   */
  push(value: V, options?: SetOptions | UpdateMode): void {
    const attr = this.#keylessAttr("push");
    const flags = options === undefined ? 0 : updateFlags(options);
    this.valueCodec.encode(value, this.#valueView, 0);
    const r = attr.update(flags);
    if (r < 0) this.#fail(BpfCmd.BPF_MAP_UPDATE_ELEM, r, "push");
  }

  /** Remove and return the next value of a queue (oldest) or stack (newest); undefined when empty. */
  pop(): V | undefined {
    const attr = this.#keylessAttr("pop");
    const r = attr.lookupAndDelete(0);
    if (r >= 0) return this.valueCodec.decode(this.#valueView, 0);
    if (r === -ENOENT) return undefined;
    return this.#fail(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, r, "pop");
  }

  /** The value pop() would return, without removing it; undefined when empty. */
  peek(): V | undefined {
    const attr = this.#keylessAttr("peek");
    if (this.typeName === "bloom_filter") throw new TypeError(`${this.#label()}: a bloom filter has nothing to peek: use contains(value)`);
    const r = attr.lookup(0);
    if (r >= 0) return this.valueCodec.decode(this.#valueView, 0);
    if (r === -ENOENT) return undefined;
    return this.#fail(BpfCmd.BPF_MAP_LOOKUP_ELEM, r, "peek");
  }

  /**
   * Whether a bloom filter may contain `value` (false means definitely not; true may be a false
   * positive). Min kernel 5.16.
   */
  contains(value: V): boolean {
    const attr = this.#keylessAttr("contains");
    if (this.typeName !== "bloom_filter") throw new TypeError(`${this.#label()}: contains() is for bloom filters`);
    this.valueCodec.encode(value, this.#valueView, 0);
    const r = attr.lookup(0);
    if (r >= 0) return true;
    if (r === -ENOENT) return false;
    return this.#fail(BpfCmd.BPF_MAP_LOOKUP_ELEM, r, "contains");
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
    return this.#iterate(ENTRIES) as Generator<[K, V], void, undefined>;
  }

  /** All keys (see entries()). */
  keys(): Generator<K, void, undefined> {
    return this.#iterate(KEYS) as Generator<K, void, undefined>;
  }

  /** All values (see entries()). */
  values(): Generator<V, void, undefined> {
    return this.#iterate(VALUES) as Generator<V, void, undefined>;
  }

  /** One generator for entries/keys/values: no nested generators or extra tuples per element. */
  *#iterate(mode: IterMode): Generator<unknown, void, undefined> {
    this.#live();
    this.#requireKeyed("iteration");
    if (this.#batchSupported !== false) {
      const stride = this.valueCodec.size;
      // Up to 4096 elements per call, but no more than ~4 MiB of buffers for large values.
      let count = Math.max(1, Math.min(this.maxEntries, 4096, Math.floor((4 << 20) / Math.max(1, this.keySize + stride))));
      const tokenSize = Math.max(this.keySize, 8);
      let keys = new NativeMemory(Math.max(count * this.keySize, 8));
      let values = new NativeMemory(Math.max(count * stride, 8));
      let tokIn = new NativeMemory(tokenSize);
      let tokOut = new NativeMemory(tokenSize);
      const attr = new MapBatchAttr(this.#fd.value);
      let ks: K[] = [];
      let vs: V[] = [];
      let first = true;
      for (;;) {
        this.#live();
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
            keys = new NativeMemory(count * this.keySize);
            values = new NativeMemory(count * stride);
            continue;
          }
          this.#fail(BpfCmd.BPF_MAP_LOOKUP_BATCH, r, "iterate");
        }
        this.#batchSupported = true;
        // Decode the whole batch first: the buffers are reused by the next call.
        if (ks.length < n) {
          ks = new Array<K>(n);
          vs = new Array<V>(n);
        }
        if (mode !== VALUES) decodeMany(this.keyCodec, keys.view, 0, this.keySize, n, ks);
        if (mode !== KEYS) decodeMany(this.valueCodec, values.view, 0, stride, n, vs);
        if (mode === ENTRIES) for (let i = 0; i < n; i++) yield [ks[i], vs[i]];
        else if (mode === KEYS) for (let i = 0; i < n; i++) yield ks[i];
        else for (let i = 0; i < n; i++) yield vs[i];
        if (r === -ENOENT) return;
        [tokIn, tokOut] = [tokOut, tokIn];
        first = false;
      }
    }
    yield* this.#iterateNextKey(mode);
  }

  /** Iteration by BPF_MAP_GET_NEXT_KEY (+ lookup unless only keys are wanted). */
  *#iterateNextKey(mode: IterMode): Generator<unknown, void, undefined> {
    const fd = this.#fd.value;
    const cur = new NativeMemory(Math.max(this.keySize, 8));
    const next = new NativeMemory(Math.max(this.keySize, 8));
    const value = mode !== KEYS ? new NativeMemory(Math.max(this.valueCodec.size, 8)) : undefined;
    const nextAttr = new MapElemAttr(fd, 0, next.address); // NULL key: the first key
    const lookupAttr = value ? new MapElemAttr(fd, next.address, value.address) : undefined;
    const keyBytes = next.bytes.subarray(0, this.keySize);
    for (;;) {
      this.#live();
      const r = nextAttr.nextKey();
      if (r === -ENOENT) return;
      if (r < 0) this.#fail(BpfCmd.BPF_MAP_GET_NEXT_KEY, r, "iterate");
      if (lookupAttr && value) {
        const lr = lookupAttr.lookup(0);
        if (lr >= 0) {
          const v = this.valueCodec.decode(value.view, 0);
          yield mode === ENTRIES ? [this.keyCodec.decode(next.view, 0), v] : v;
        } else if (lr !== -ENOENT) this.#fail(BpfCmd.BPF_MAP_LOOKUP_ELEM, lr, "iterate");
        // ENOENT: deleted since get_next_key; go on from its key.
      } else {
        yield this.keyCodec.decode(next.view, 0);
      }
      cur.bytes.set(keyBytes);
      nextAttr.setKey(cur.address);
    }
  }

  // --- explicit batches -----------------------------------------------------------------

  #batchBuffers(count: number): BatchBuffers {
    if (!this.#batch || this.#batch.capacity < count) {
      const tokenSize = Math.max(this.keySize, 8);
      this.#batch = {
        attr: this.#batch?.attr ?? new MapBatchAttr(this.#fd.value),
        keys: new NativeMemory(Math.max(count * this.keySize, 8)),
        values: new NativeMemory(Math.max(count * this.valueCodec.size, 8)),
        tokenIn: this.#batch?.tokenIn ?? new NativeMemory(tokenSize),
        tokenOut: this.#batch?.tokenOut ?? new NativeMemory(tokenSize),
        capacity: count,
      };
    }
    return this.#batch;
  }

  #batchCount(count: number | undefined, what: string): number {
    const n = count ?? 1024;
    if (!Number.isSafeInteger(n) || n < 1 || n > 1 << 24) throw new RangeError(`${this.#label()}: ${what}: count ${n} must be 1..2^24`);
    return n;
  }

  /** Run a reading batch command into the reused buffers; returns the element count and the next cursor. */
  #runReadBatch(cmd: number, options: BatchOptions, step: string): { n: number; buffers: BatchBuffers; next: MapBatchCursor | undefined } {
    this.#live();
    this.#requireKeyed(step);
    if (typeof options !== "object" || options === null) throw new TypeError("batch options must be an object");
    checkOptions("batch", options, ["cursor", "count"]);
    const count = this.#batchCount(options.count, step);
    const cursor = options.cursor;
    if (cursor !== undefined && (!(cursor instanceof MapBatchCursor) || cursor.owner !== this)) {
      throw new TypeError(`${this.#label()}: ${step}: the cursor belongs to another map or batch`);
    }
    const { attr, keys, values, tokenIn, tokenOut } = this.#batchBuffers(count);
    // Tokens travel in per-map native buffers; cursors keep small JS copies (cheaper than
    // native memory per call, and a cursor stays valid whatever happens to the buffers).
    if (cursor) tokenIn.bytes.set(cursor.token);
    attr.setBuffers(cursor ? tokenIn.address : 0, tokenOut.address, keys.address, values.address);
    const r = attr.run(cmd, count);
    if (r < 0 && r !== -ENOENT) {
      if (r === -ENOSPC) {
        failMapCall(cmd, r, `${this.#label()}: ${step}`, `a hash bucket holds more than ${count} elements: pass a larger count`);
      }
      this.#fail(cmd, r, step);
    }
    const next = r === -ENOENT ? undefined : new MapBatchCursor(this, tokenOut.bytes.slice());
    return { n: attr.count, buffers: this.#batch!, next };
  }

  #readBatch(cmd: number, options: BatchOptions, step: string): BatchResult<K, V> {
    const { n, buffers, next } = this.#runReadBatch(cmd, options, step);
    const ks = new Array<K>(n);
    const vs = new Array<V>(n);
    decodeMany(this.keyCodec, buffers.keys.view, 0, this.keySize, n, ks);
    decodeMany(this.valueCodec, buffers.values.view, 0, this.valueCodec.size, n, vs);
    return { keys: ks, values: vs, next };
  }

  /**
   * Like lookupBatch, without decoding: `keys` and `values` are views of this map's reused
   * native buffers holding `count` elements (key i at `i * keySize`, value i at
   * `i * valueStride`). Zero-copy: the views are valid only until the next batch call on this
   * map. For callers that read a few fields in place or copy into their own typed arrays.
   */
  lookupBatchRaw(options: BatchOptions = {}): RawBatchResult {
    const { n, buffers, next } = this.#runReadBatch(BpfCmd.BPF_MAP_LOOKUP_BATCH, options, "lookup batch");
    const stride = this.valueCodec.size;
    return {
      count: n,
      keys: buffers.keys.bytes.subarray(0, n * this.keySize),
      values: buffers.values.bytes.subarray(0, n * stride),
      valueStride: stride,
      next,
    };
  }

  /**
   * Read up to `count` elements (BPF_MAP_LOOKUP_BATCH, min kernel 5.6; hash and array types).
   * Continue with `{ cursor: result.next }` until `next` is undefined. Throws BpfError
   * (EINVAL/ENOTSUPP where this map type has no batch ops).
   */
  lookupBatch(options: BatchOptions = {}): BatchResult<K, V> {
    return this.#readBatch(BpfCmd.BPF_MAP_LOOKUP_BATCH, options, "lookup batch");
  }

  /** Like lookupBatch, and delete what was read (BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6+, hash types). */
  lookupAndDeleteBatch(options: BatchOptions = {}): BatchResult<K, V> {
    return this.#readBatch(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH, options, "lookup and delete batch");
  }

  /**
   * Set many elements in one call (BPF_MAP_UPDATE_BATCH, 5.6+): each key is created or replaced
   * (the kernel has no per-batch NOEXIST/EXIST). Returns how many were set. All keys and values
   * are encoded (and checked) before the syscall. Throws BpfError naming how many elements were
   * set before the failure (E2BIG when the map is full).
   */
  updateBatch(keys: readonly K[], values: readonly V[], options?: BatchUpdateOptions): number {
    this.#live();
    this.#requireKeyed("update batch");
    if (!Array.isArray(keys) || !Array.isArray(values)) throw new TypeError(`${this.#label()}: update batch: keys and values must be arrays`);
    if (keys.length !== values.length) {
      throw new RangeError(`${this.#label()}: update batch: ${keys.length} keys but ${values.length} values`);
    }
    if (keys.length === 0) return 0;
    let flags = 0;
    if (options !== undefined) {
      if (typeof options !== "object" || options === null) throw new TypeError("update batch options must be an object");
      if (Object.hasOwn(options, "mode")) throw new TypeError(`${this.#label()}: update batch: the kernel has no "noexist"/"exist" for batches, only lock`);
      checkOptions("update batch", options, ["lock"]);
      if (options.lock) flags = ElemFlags.LOCK;
    }
    const n = this.#batchCount(keys.length, "update batch");
    const { attr, keys: km, values: vm } = this.#batchBuffers(n);
    const stride = this.valueCodec.size;
    for (let i = 0; i < n; i++) {
      this.keyCodec.encode(keys[i] as K, km.view, i * this.keySize);
      this.valueCodec.encode(values[i] as V, vm.view, i * stride);
    }
    attr.setBuffers(0, 0, km.address, vm.address);
    const r = attr.run(BpfCmd.BPF_MAP_UPDATE_BATCH, n, flags);
    if (r < 0) this.#fail(BpfCmd.BPF_MAP_UPDATE_BATCH, r, `update batch (${attr.count} of ${n} set)`);
    return attr.count;
  }

  /**
   * Delete many keys in one call (BPF_MAP_DELETE_BATCH, 5.6+, hash types). Returns how many
   * were deleted. Throws BpfError (ENOENT for a missing key, naming how many were deleted before it).
   */
  deleteBatch(keys: readonly K[]): number {
    this.#live();
    this.#requireKeyed("delete batch");
    if (!Array.isArray(keys)) throw new TypeError(`${this.#label()}: delete batch: keys must be an array`);
    if (keys.length === 0) return 0;
    const n = this.#batchCount(keys.length, "delete batch");
    const { attr, keys: km } = this.#batchBuffers(n);
    for (let i = 0; i < n; i++) this.keyCodec.encode(keys[i] as K, km.view, i * this.keySize);
    attr.setBuffers(0, 0, km.address, 0);
    const r = attr.run(BpfCmd.BPF_MAP_DELETE_BATCH, n);
    if (r < 0) this.#fail(BpfCmd.BPF_MAP_DELETE_BATCH, r, `delete batch (${attr.count} of ${n} deleted)`);
    return attr.count;
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
    // The id is known for every map made by create() or opened: unpin works after close() too.
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

/**
 * Throws TypeError unless `fd` is a BPF map: BPF_OBJ_GET_INFO_BY_FD would happily fill a map
 * info buffer with a program's or link's info. The kernel's fdinfo names the map type.
 */
function checkIsMap(fd: Fd): void {
  let text: string;
  try {
    text = readFileSync(`/proc/self/fdinfo/${fd.value}`, "utf8");
  } catch {
    return; // no procfs: the info read below is the only check
  }
  if (!/^map_type:/m.test(text)) {
    const kind = /^prog_type:/m.test(text) ? "a BPF program" : /^link_type:/m.test(text) ? "a BPF link" : "not a BPF map";
    throw new TypeError(`${fd.what}: fd ${fd.value} is ${kind === "not a BPF map" ? kind : `${kind}, not a map`}`);
  }
}

function accessFlags(options: MapOpenOptions<unknown, unknown>): number {
  if (typeof options !== "object" || options === null) throw new TypeError("MapOpenOptions must be an object");
  switch (options.access ?? "readwrite") {
    case "readwrite": return 0;
    case "readonly": return BPF_F_RDONLY;
    case "writeonly": return BPF_F_WRONLY;
    default: throw new TypeError(`access must be "readwrite", "readonly" or "writeonly", got ${JSON.stringify(options.access)}`);
  }
}
