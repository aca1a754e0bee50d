/**
 * Map type and map flag probes: create the smallest map of each type with the sizes and flags
 * that type needs (a real inner map for maps of maps, a one-type BTF for local storages), then
 * close it.
 */
import { marshalBtf } from "../btf/marshal.js";
import { MAP_TYPES, type MapTypeName } from "../spec/map-type.js";
import { btfLoad } from "../sys/btf-attr.js";
import { MapFlags } from "../spec/map-spec.js";
import type { MapCreateAttr } from "../sys/map-attr.js";
import { createMapKept, tryCreateMap } from "./calls.js";
import { classifyErrno, cachedProbe, ProbeCache, supported, type Outcome, type ProbeResult } from "./probe.js";

/** Map types a probe can ask about (every type but `unspec`). */
export type ProbedMapType = Exclude<MapTypeName, "unspec">;

/** The first mainline kernel of each map type. */
export const MAP_TYPE_MIN_KERNEL: Readonly<Record<ProbedMapType, string>> = {
  hash: "3.19",
  array: "3.19",
  prog_array: "4.2",
  perf_event_array: "4.3",
  percpu_hash: "4.6",
  percpu_array: "4.6",
  stack_trace: "4.6",
  cgroup_array: "4.8",
  lru_hash: "4.10",
  lru_percpu_hash: "4.10",
  lpm_trie: "4.11",
  array_of_maps: "4.12",
  hash_of_maps: "4.12",
  devmap: "4.14",
  sockmap: "4.14",
  cpumap: "4.15",
  xskmap: "4.18",
  sockhash: "4.18",
  cgroup_storage: "4.19",
  reuseport_sockarray: "4.19",
  percpu_cgroup_storage: "4.20",
  queue: "4.20",
  stack: "4.20",
  sk_storage: "5.2",
  devmap_hash: "5.4",
  struct_ops: "5.6",
  ringbuf: "5.8",
  inode_storage: "5.10",
  task_storage: "5.11",
  bloom_filter: "5.16",
  user_ringbuf: "6.1",
  cgrp_storage: "6.2",
  arena: "6.9",
};

const ENOTSUPP = 524;
const PAGE_SIZE = 4096;

/** The attr that creates the smallest map of `type` (BTF and inner map fds filled in later). */
function probeAttr(type: ProbedMapType): MapCreateAttr {
  const mapType = MAP_TYPES[type];
  const plain: MapCreateAttr = { mapType, keySize: 4, valueSize: 4, maxEntries: 1 };
  switch (type) {
    case "stack_trace":
      return { ...plain, valueSize: 8 };
    case "lpm_trie":
      // struct { u32 prefixlen; u8 data[4]; }, and lpm tries are never preallocated
      return { ...plain, keySize: 8, valueSize: 8, mapFlags: MapFlags.NO_PREALLOC };
    case "cgroup_storage":
    case "percpu_cgroup_storage":
      // key: struct bpf_cgroup_storage_key { u64 cgroup_inode_id; u32 attach_type; } (16 bytes)
      return { mapType, keySize: 16, valueSize: 4, maxEntries: 0 };
    case "queue":
    case "stack":
    case "bloom_filter":
      return { mapType, keySize: 0, valueSize: 4, maxEntries: 1 };
    case "sk_storage":
    case "inode_storage":
    case "task_storage":
    case "cgrp_storage":
      return { mapType, keySize: 4, valueSize: 4, maxEntries: 0, mapFlags: MapFlags.NO_PREALLOC, btfKeyTypeId: 1, btfValueTypeId: 1 };
    case "struct_ops":
      // Type id 1 of vmlinux is never a struct_ops value type: a kernel with the map type
      // says ENOTSUPP, one without it EINVAL.
      return { ...plain, btfVmlinuxValueTypeId: 1 };
    case "ringbuf":
    case "user_ringbuf":
      return { mapType, keySize: 0, valueSize: 0, maxEntries: PAGE_SIZE };
    case "arena":
      return { mapType, keySize: 0, valueSize: 0, maxEntries: 1, mapFlags: MapFlags.MMAPABLE };
    default:
      return plain;
  }
}

const INT_BTF = { kind: "int", name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 } as const;

function runMapTypeProbe(type: ProbedMapType): Outcome {
  const attr = probeAttr(type);
  const closers: { close(): void }[] = [];
  try {
    if (type === "array_of_maps" || type === "hash_of_maps") {
      const inner = createMapKept({ mapType: MAP_TYPES.array, keySize: 4, valueSize: 4, maxEntries: 1 });
      if (!("fd" in inner)) return classifyErrno(inner.errno, "BPF_MAP_CREATE (inner array)") ?? inconclusive(type, inner.errno);
      closers.push(inner.fd);
      attr.innerMapFd = inner.fd.value;
    }
    if (attr.btfKeyTypeId) {
      // local storages need BTF for their key (an int) and value
      let btf;
      try {
        btf = btfLoad(marshalBtf([INT_BTF]), { name: "probe BTF" }).fd;
      } catch (e) {
        const errno = (e as { errno?: number }).errno;
        if (typeof errno !== "number") throw e;
        return classifyErrno(errno, "BPF_BTF_LOAD") ?? inconclusive(type, errno);
      }
      closers.push(btf);
      attr.btfFd = btf.value;
    }
    const errno = tryCreateMap(attr);
    if (errno === 0) return supported();
    if (type === "struct_ops" && errno === ENOTSUPP) return supported("the kernel knows the type (ENOTSUPP for a value type that is not struct_ops)");
    return classifyErrno(errno, "BPF_MAP_CREATE") ?? inconclusive(type, errno);
  } finally {
    for (const c of closers) c.close();
  }
}

function inconclusive(what: string, errno: number): never {
  throw new Error(`probe of map type ${what}: inconclusive errno ${errno}`);
}

const typeCache = new ProbeCache<ProbedMapType>((type) => ({
  feature: `map type ${type}`,
  minKernel: MAP_TYPE_MIN_KERNEL[type],
  outcome: () => runMapTypeProbe(type),
}));

/**
 * Whether the running kernel can create maps of `type` (BPF_MAP_CREATE of the smallest such
 * map, closed at once). Cached per process. Min kernel: MAP_TYPE_MIN_KERNEL[type].
 */
export function probeMapType(type: ProbedMapType): ProbeResult {
  if (!Object.hasOwn(MAP_TYPE_MIN_KERNEL, type)) throw new TypeError(`unknown map type ${JSON.stringify(type)}`);
  return typeCache.get(type);
}

/** Every map type this table knows, in UAPI order. */
export const ALL_MAP_TYPES = Object.keys(MAP_TYPE_MIN_KERNEL) as ProbedMapType[];

/** Map flags that can be probed: each on the map type it belongs to. */
export const MAP_FLAG_PROBES = {
  NO_PREALLOC: { type: "hash", minKernel: "4.6" },
  NO_COMMON_LRU: { type: "lru_hash", minKernel: "4.10" },
  NUMA_NODE: { type: "hash", minKernel: "4.14" },
  RDONLY: { type: "array", minKernel: "4.15" },
  WRONLY: { type: "array", minKernel: "4.15" },
  ZERO_SEED: { type: "hash", minKernel: "5.0" },
  RDONLY_PROG: { type: "array", minKernel: "5.2" },
  WRONLY_PROG: { type: "array", minKernel: "5.2" },
  MMAPABLE: { type: "array", minKernel: "5.5" },
  PRESERVE_ELEMS: { type: "perf_event_array", minKernel: "5.10" },
  INNER_MAP: { type: "array", minKernel: "5.10" },
} as const satisfies Record<string, { type: ProbedMapType; minKernel: string }>;

/** A map flag that can be probed, by its name without `BPF_F_` (`"MMAPABLE"`). */
export type ProbedMapFlag = keyof typeof MAP_FLAG_PROBES;

const flagProbes = new Map<ProbedMapFlag, () => ProbeResult>();
for (const [flag, { type, minKernel }] of Object.entries(MAP_FLAG_PROBES) as [ProbedMapFlag, { type: ProbedMapType; minKernel: string }][]) {
  flagProbes.set(
    flag,
    cachedProbe(`map flag BPF_F_${flag} on ${type} maps`, minKernel, () => {
      const errno = tryCreateMap({ ...probeAttr(type), mapFlags: (probeAttr(type).mapFlags ?? 0) | MapFlags[flag] });
      if (errno === 0) return supported();
      return classifyErrno(errno, "BPF_MAP_CREATE") ?? inconclusive(`${type} with BPF_F_${flag}`, errno);
    }),
  );
}

/**
 * Whether the running kernel accepts map flag `BPF_F_<flag>` on the map type it belongs to
 * (MAP_FLAG_PROBES). Cached per process.
 */
export function probeMapFlag(flag: ProbedMapFlag): ProbeResult {
  const p = flagProbes.get(flag);
  if (!p) throw new TypeError(`no probe for map flag ${JSON.stringify(flag)}: one of ${[...flagProbes.keys()].join(", ")}`);
  return p();
}
