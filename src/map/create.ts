/**
 * Making and opening the kernel side of a BpfMap: BPF_MAP_CREATE from a spec (with an inner
 * map for map-in-map types, and the flags that extra fds imply), the compatibility check of a
 * by-name pin that is reused instead, and the access flags of opening an existing map.
 */
import type { Codec } from "../codec.js";
import { isBpfError, TsbpfError } from "../errors.js";
import { raiseMemlockLimitIfCharged } from "../features/memlock.js";
import { Fd } from "../sys/fd.js";
import { mapCreate } from "../sys/map-attr.js";
import { BPF_F_RDONLY, BPF_F_WRONLY, objGet } from "../sys/obj.js";
import { checkMapSpec, fdOf, kernelMapName, MapFlags, type MapSpec, specType } from "../spec/map-spec.js";
import { readInfo } from "./info.js";
import { possibleCpus } from "./possible-cpus.js";

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

/** What a BpfMap is, as its constructor needs it. */
export interface MapDesc {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** The checked sizes and flags of a spec (checkMapSpec), with a perf event array's defaults filled in. */
export function specSizes(spec: MapSpec<unknown, unknown>): ReturnType<typeof checkMapSpec> {
  const sizes = checkMapSpec(spec);
  if (specType(spec).typeName === "perf_event_array") {
    // A perf event array without a size gets one slot per possible CPU, as libbpf and
    // cilium/ebpf give it: that is what a perf buffer reader fills. Its key (a CPU index) and
    // value (a perf event fd) are u32s, which many objects leave 0; cilium fills them in too.
    if (sizes.maxEntries === 0) sizes.maxEntries = possibleCpus();
    if (sizes.keySize === 0) sizes.keySize = 4;
    if (sizes.valueSize === 0) sizes.valueSize = 4;
  }
  return sizes;
}

/**
 * BPF_MAP_CREATE for `spec` with the checked `sizes`; returns the new fd (owned by the caller)
 * and the flags the map was made with. An inner map given as a spec is created by
 * `createInner` for the call and closed after it. Throws BpfError when the kernel refuses.
 */
export function createMapFd(
  spec: MapSpec<unknown, unknown>,
  sizes: ReturnType<typeof checkMapSpec>,
  label: string,
  createInner: (inner: MapSpec<unknown, unknown>) => { readonly fd: number; close(): void },
): { fd: Fd; flags: number } {
  const { type, typeName } = specType(spec);
  const name = spec.name === undefined ? "" : kernelMapName(spec.name);
  let flags = sizes.flags;
  let innerFd = 0;
  let innerTemp: { readonly fd: number; close(): void } | undefined;
  if (spec.innerMap !== undefined) {
    if (typeof (spec.innerMap as { fd?: unknown }).fd !== "number") {
      innerTemp = createInner(spec.innerMap as MapSpec<unknown, unknown>);
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
    const attr: Parameters<typeof mapCreate>[0] = {
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
    };
    const context = `${label}: create (type ${typeName ?? type}, key ${sizes.keySize} B, value ${sizes.valueSize} B, max_entries ${sizes.maxEntries}, flags 0x${flags.toString(16)})`;
    try {
      fdNum = mapCreate(attr, context);
    } catch (e) {
      // A kernel before 5.11 charges RLIMIT_MEMLOCK: raise it once, then try again.
      if (!(isBpfError(e) && e.code === "EPERM" && raiseMemlockLimitIfCharged())) throw e;
      fdNum = mapCreate(attr, context);
    }
  } finally {
    innerTemp?.close();
  }
  return { fd: new Fd(fdNum, label), flags };
}

/**
 * The map pinned at `path` when it matches `desc` (type, sizes, flags), undefined when nothing
 * is pinned there. Throws TsbpfError naming every difference for an incompatible pin.
 */
export function openCompatiblePin(path: string, desc: MapDesc, label: string): { fd: Fd; id: number } | undefined {
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

/** The BPF_F_RDONLY/WRONLY flag of MapOpenOptions.access. Throws TypeError for a bad value. */
export function accessFlags(options: MapOpenOptions<unknown, unknown>): number {
  if (typeof options !== "object" || options === null) throw new TypeError("MapOpenOptions must be an object");
  switch (options.access ?? "readwrite") {
    case "readwrite": return 0;
    case "readonly": return BPF_F_RDONLY;
    case "writeonly": return BPF_F_WRONLY;
    default: throw new TypeError(`access must be "readwrite", "readonly" or "writeonly", got ${JSON.stringify(options.access)}`);
  }
}
