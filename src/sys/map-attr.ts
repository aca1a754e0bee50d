/**
 * bpf_attr layouts for the map commands (Linux 6.18 UAPI `union bpf_attr`) and
 * `struct bpf_map_info`. Hot paths use MapElemAttr: one preallocated attr per map whose fd and
 * key/value pointers are written once, so a lookup is one koffi call with a number address.
 */
import { BpfError } from "../errors.js";
import { BpfCmd, bpfCmdName } from "./bpf.js";
import { errno, NativeMemory, SYS, syscall3 } from "./libc.js";

/** `flags` of BPF_MAP_UPDATE_ELEM / LOOKUP_ELEM (UAPI `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`). */
export const ElemFlags = {
  ANY: 0,
  NOEXIST: 1,
  EXIST: 2,
  LOCK: 4,
} as const;

/** Length of `map_name` including its NUL (BPF_OBJ_NAME_LEN). */
export const BPF_OBJ_NAME_LEN = 16;

/** Every BPF_MAP_CREATE field of Linux 6.18 (all default to 0). */
export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags?: number;
  innerMapFd?: number;
  numaNode?: number;
  /** At most 15 bytes of [A-Za-z0-9_.]: the caller validates. */
  mapName?: string;
  mapIfindex?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: bigint;
  valueTypeBtfObjFd?: number;
  mapTokenFd?: number;
}

/**
 * Size of the BPF_MAP_CREATE attr we pass: through `excl_prog_hash_size` (6.18), so every field
 * we know is inside; older kernels accept a larger attr whose unknown tail is zero.
 */
export const MAP_CREATE_ATTR_SIZE = 96;

function u32(view: DataView, off: number, v: number | undefined, what: string): void {
  const n = v ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${what} ${n} is not a u32`);
  view.setUint32(off, n, true);
}

function s32(view: DataView, off: number, v: number | undefined, what: string): void {
  const n = v ?? 0;
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) throw new RangeError(`${what} ${n} is not an s32`);
  view.setInt32(off, n, true);
}

/** Lay out a BPF_MAP_CREATE attr into `mem` (at least MAP_CREATE_ATTR_SIZE bytes). Pure; throws RangeError. */
export function writeMapCreateAttr(mem: NativeMemory, a: MapCreateAttr): void {
  const v = mem.view;
  mem.bytes.fill(0, 0, MAP_CREATE_ATTR_SIZE);
  u32(v, 0, a.mapType, "map_type");
  u32(v, 4, a.keySize, "key_size");
  u32(v, 8, a.valueSize, "value_size");
  u32(v, 12, a.maxEntries, "max_entries");
  u32(v, 16, a.mapFlags, "map_flags");
  u32(v, 20, a.innerMapFd, "inner_map_fd");
  u32(v, 24, a.numaNode, "numa_node");
  if (a.mapName) {
    const name = Buffer.from(a.mapName, "utf8");
    if (name.length >= BPF_OBJ_NAME_LEN) throw new RangeError(`map_name "${a.mapName}" is longer than 15 bytes`);
    mem.bytes.set(name, 28);
  }
  u32(v, 44, a.mapIfindex, "map_ifindex");
  u32(v, 48, a.btfFd, "btf_fd");
  u32(v, 52, a.btfKeyTypeId, "btf_key_type_id");
  u32(v, 56, a.btfValueTypeId, "btf_value_type_id");
  u32(v, 60, a.btfVmlinuxValueTypeId, "btf_vmlinux_value_type_id");
  const extra = a.mapExtra ?? 0n;
  if (extra < 0n || extra > 0xffffffffffffffffn) throw new RangeError(`map_extra ${extra} is not a u64`);
  v.setBigUint64(64, extra, true);
  s32(v, 72, a.valueTypeBtfObjFd, "value_type_btf_obj_fd");
  s32(v, 76, a.mapTokenFd, "map_token_fd");
}

/** One attr for every BPF_MAP_CREATE: the call is synchronous, and writeMapCreateAttr zeroes it first. */
let createAttr: NativeMemory | undefined;

/**
 * BPF_MAP_CREATE. Returns the new map's fd (the caller wraps it in an Fd). Min kernel 3.18.
 * Throws BpfError with `context` leading its message.
 */
export function mapCreate(a: MapCreateAttr, context: string): number {
  const mem = (createAttr ??= new NativeMemory(MAP_CREATE_ATTR_SIZE));
  writeMapCreateAttr(mem, a);
  const r = syscall3(SYS.bpf, BpfCmd.BPF_MAP_CREATE, mem.address, MAP_CREATE_ATTR_SIZE);
  if (r < 0) throw new BpfError("BPF_MAP_CREATE", errno(), { context });
  return r;
}

// Module constants and inlined bodies keep lookup/update to one koffi call plus a compare:
// these two methods are the per-element hot path that benchmarks hold against C.
const SYS_BPF = SYS.bpf;
const CMD_LOOKUP = BpfCmd.BPF_MAP_LOOKUP_ELEM;
const CMD_UPDATE = BpfCmd.BPF_MAP_UPDATE_ELEM;

/** Size of the element-command attr: `{ u32 map_fd; u64 key; u64 value|next_key; u64 flags; }`. */
export const ELEM_ATTR_SIZE = 32;
/** What a MapElemAttr keeps: the element attr, then BPF_MAP_DELETE_ELEM's (fd and key only). */
export const ELEM_ATTRS_SIZE = ELEM_ATTR_SIZE + 16;

/**
 * A preallocated attr for BPF_MAP_*_ELEM, BPF_MAP_GET_NEXT_KEY and BPF_MAP_FREEZE. The fd and
 * the key/value addresses are written once; each call costs one koffi call. Methods return 0
 * (or the syscall's result) on success and `-errno` on failure, so callers decide what ENOENT
 * means; `fail()` turns such a result into a BpfError.
 */
export class MapElemAttr {
  readonly memory: NativeMemory;
  readonly #address: number;
  /** BPF_MAP_DELETE_ELEM's attr ends at `key`: the kernel refuses a non-zero value pointer. */
  readonly #deleteMemory: NativeMemory;
  readonly #deleteAddress: number;
  #flags = 0;

  /**
   * `keyAddress`/`valueAddress` are native addresses (0 for NULL, as queues and stacks need).
   * `memory` (ELEM_ATTRS_SIZE bytes, zeroed) lets the caller place both attrs in an allocation of
   * its own.
   */
  constructor(mapFd: number, keyAddress: number, valueAddress: number, memory = new NativeMemory(ELEM_ATTRS_SIZE)) {
    this.memory = new NativeMemory(ELEM_ATTR_SIZE, memory, 0);
    this.#address = this.memory.address;
    const v = this.memory.view;
    v.setUint32(0, mapFd, true);
    v.setBigUint64(8, BigInt(keyAddress), true);
    v.setBigUint64(16, BigInt(valueAddress), true);
    this.#deleteMemory = new NativeMemory(16, memory, ELEM_ATTR_SIZE);
    this.#deleteAddress = this.#deleteMemory.address;
    this.#deleteMemory.view.setUint32(0, mapFd, true);
    this.#deleteMemory.view.setBigUint64(8, BigInt(keyAddress), true);
  }

  /** Point the key at another address (0 for NULL). */
  setKey(address: number): void {
    this.memory.view.setBigUint64(8, BigInt(address), true);
    this.#deleteMemory.view.setBigUint64(8, BigInt(address), true);
  }

  /** Point the value (or next_key) at another address. */
  setValue(address: number): void {
    this.memory.view.setBigUint64(16, BigInt(address), true);
  }

  #setFlags(flags: number): void {
    // Written only when it changes: most calls keep the flags of the previous one.
    this.memory.view.setBigUint64(24, BigInt(flags), true);
    this.#flags = flags;
  }

  #call(cmd: number): number {
    const r = syscall3(SYS.bpf, cmd, this.#address, ELEM_ATTR_SIZE);
    return r < 0 ? -errno() : r;
  }

  /** BPF_MAP_LOOKUP_ELEM (flags: 0 or BPF_F_LOCK). */
  lookup(flags = 0): number {
    if (flags !== this.#flags) this.#setFlags(flags);
    const r = syscall3(SYS_BPF, CMD_LOOKUP, this.#address, ELEM_ATTR_SIZE);
    return r < 0 ? -errno() : r;
  }

  /** BPF_MAP_UPDATE_ELEM (flags: BPF_ANY/NOEXIST/EXIST, | BPF_F_LOCK). */
  update(flags = 0): number {
    if (flags !== this.#flags) this.#setFlags(flags);
    const r = syscall3(SYS_BPF, CMD_UPDATE, this.#address, ELEM_ATTR_SIZE);
    return r < 0 ? -errno() : r;
  }

  /** BPF_MAP_DELETE_ELEM. */
  delete(): number {
    const r = syscall3(SYS_BPF, BpfCmd.BPF_MAP_DELETE_ELEM, this.#deleteAddress, 16);
    return r < 0 ? -errno() : r;
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (min kernel 4.20; flags 5.14). */
  lookupAndDelete(flags = 0): number {
    if (flags !== this.#flags) this.#setFlags(flags);
    return this.#call(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM);
  }

  /** BPF_MAP_GET_NEXT_KEY: the value pointer is `next_key`; a NULL key asks for the first key. */
  nextKey(): number {
    if (this.#flags !== 0) this.#setFlags(0);
    return this.#call(BpfCmd.BPF_MAP_GET_NEXT_KEY);
  }

  /**
   * BPF_MAP_FREEZE (min kernel 5.2). Passes only `map_fd`: the kernel refuses non-zero fields
   * after the last one a command uses.
   */
  freeze(): number {
    const r = syscall3(SYS.bpf, BpfCmd.BPF_MAP_FREEZE, this.#address, 4);
    return r < 0 ? -errno() : r;
  }
}

/** Throw the BpfError for a `-errno` result of a MapElemAttr or MapBatchAttr call. */
export function failMapCall(cmd: number, result: number, context: string, hint?: string): never {
  throw new BpfError(bpfCmdName(cmd), -result, { context, hint });
}

/** Size of the batch attr: `{ u64 in_batch, out_batch, keys, values; u32 count, map_fd; u64 elem_flags, flags; }`. */
export const BATCH_ATTR_SIZE = 56;

/**
 * A preallocated attr for BPF_MAP_*_BATCH (min kernel 5.6). Addresses are native; `count` is
 * written before and read after each call.
 */
export class MapBatchAttr {
  readonly memory: NativeMemory;
  readonly #address: number;

  constructor(mapFd: number) {
    this.memory = new NativeMemory(BATCH_ATTR_SIZE);
    this.#address = this.memory.address;
    this.memory.view.setUint32(36, mapFd, true);
  }

  /** Set the pointers: in_batch (0 = from the start), out_batch, keys, values. */
  setBuffers(inBatch: number, outBatch: number, keys: number, values: number): void {
    const v = this.memory.view;
    v.setBigUint64(0, BigInt(inBatch), true);
    v.setBigUint64(8, BigInt(outBatch), true);
    v.setBigUint64(16, BigInt(keys), true);
    v.setBigUint64(24, BigInt(values), true);
  }

  /** Point in_batch at an address (0 = start from the beginning). */
  setInBatch(address: number): void {
    this.memory.view.setBigUint64(0, BigInt(address), true);
  }

  /** How many elements the last call processed (the kernel writes it back). */
  get count(): number {
    return this.memory.view.getUint32(32, true);
  }

  /**
   * Run a batch command for up to `count` elements. Returns 0 or `-errno`; `count` afterwards
   * says how many elements were processed (also on ENOENT, which ends a lookup batch).
   */
  run(cmd: number, count: number, elemFlags = 0, flags = 0): number {
    const v = this.memory.view;
    v.setUint32(32, count, true);
    v.setBigUint64(40, BigInt(elemFlags), true);
    v.setBigUint64(48, BigInt(flags), true);
    const r = syscall3(SYS.bpf, cmd, this.#address, BATCH_ATTR_SIZE);
    return r < 0 ? -errno() : r;
  }
}

/** Size of `struct bpf_map_info` in Linux 6.18 (through `hash_size` and its padding). */
export const MAP_INFO_SIZE = 104;

/** `struct bpf_map_info` as the kernel fills it (fields a kernel does not know stay 0). */
export interface RawMapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  name: string;
  ifindex: number;
  btfVmlinuxValueTypeId: number;
  netnsDev: bigint;
  netnsIno: bigint;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxId: number;
  mapExtra: bigint;
}

/** Decode a `struct bpf_map_info` from `mem` (MAP_INFO_SIZE bytes, zero beyond what the kernel filled). */
export function readMapInfo(mem: NativeMemory): RawMapInfo {
  const v = mem.view;
  const nameBytes = mem.bytes.subarray(24, 40);
  const nul = nameBytes.indexOf(0);
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    keySize: v.getUint32(8, true),
    valueSize: v.getUint32(12, true),
    maxEntries: v.getUint32(16, true),
    mapFlags: v.getUint32(20, true),
    name: Buffer.from(nameBytes.subarray(0, nul < 0 ? 16 : nul)).toString("utf8"),
    ifindex: v.getUint32(40, true),
    btfVmlinuxValueTypeId: v.getUint32(44, true),
    netnsDev: v.getBigUint64(48, true),
    netnsIno: v.getBigUint64(56, true),
    btfId: v.getUint32(64, true),
    btfKeyTypeId: v.getUint32(68, true),
    btfValueTypeId: v.getUint32(72, true),
    btfVmlinuxId: v.getUint32(76, true),
    mapExtra: v.getBigUint64(80, true),
  };
}
