/**
 * Map types: `enum bpf_map_type` of Linux 6.18 by the snake_case name bpftool prints. Pure
 * data (no kernel access), imported by the ELF loader, the feature probes and BpfMap.
 */

/**
 * UAPI number of every map type of Linux 6.18, keyed by bpftool's name
 * (`BPF_MAP_TYPE_LRU_HASH` → `"lru_hash"`). `cgroup_storage` and `percpu_cgroup_storage` are
 * the kernel's `*_DEPRECATED` values, still created by cgroup programs.
 */
export const MAP_TYPES = {
  unspec: 0,
  hash: 1,
  array: 2,
  prog_array: 3,
  perf_event_array: 4,
  percpu_hash: 5,
  percpu_array: 6,
  stack_trace: 7,
  cgroup_array: 8,
  lru_hash: 9,
  lru_percpu_hash: 10,
  lpm_trie: 11,
  array_of_maps: 12,
  hash_of_maps: 13,
  devmap: 14,
  sockmap: 15,
  cpumap: 16,
  xskmap: 17,
  sockhash: 18,
  cgroup_storage: 19,
  reuseport_sockarray: 20,
  percpu_cgroup_storage: 21,
  queue: 22,
  stack: 23,
  sk_storage: 24,
  devmap_hash: 25,
  struct_ops: 26,
  ringbuf: 27,
  inode_storage: 28,
  task_storage: 29,
  bloom_filter: 30,
  user_ringbuf: 31,
  cgrp_storage: 32,
  arena: 33,
} as const;

/** A map type's bpftool name (`"hash"`, `"percpu_array"`, `"ringbuf"`…). */
export type MapTypeName = keyof typeof MAP_TYPES;

const BY_NUMBER: readonly MapTypeName[] = (() => {
  const names: MapTypeName[] = [];
  for (const [name, n] of Object.entries(MAP_TYPES) as [MapTypeName, number][]) names[n] = name;
  return names;
})();

/**
 * The bpftool name of a map type number (`9` → `"lru_hash"`), or undefined for a number this
 * table does not know (a type newer than Linux 6.18).
 */
export function mapTypeName(type: number): MapTypeName | undefined {
  return Number.isInteger(type) ? BY_NUMBER[type] : undefined;
}

/** Whether `name` is a map type name of this table. */
export function isMapTypeName(name: unknown): name is MapTypeName {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(MAP_TYPES, name);
}

/**
 * The UAPI number for a map type given by name or number. A number passes through unchanged
 * (so types newer than this table still work); an unknown name throws TypeError.
 */
export function mapTypeNumber(type: MapTypeName | number): number {
  if (typeof type === "number") {
    if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) {
      throw new RangeError(`map type ${type} is not a u32`);
    }
    return type;
  }
  if (!isMapTypeName(type)) {
    throw new TypeError(`unknown map type ${JSON.stringify(type)}: expected one of ${Object.keys(MAP_TYPES).join(", ")} or a number`);
  }
  return MAP_TYPES[type];
}

/** The map types whose values are per CPU (the one list of them). */
export const PER_CPU_MAP_TYPE_NAMES = ["percpu_hash", "percpu_array", "lru_percpu_hash", "percpu_cgroup_storage"] as const;

/** A map type whose values are per CPU: userspace reads and writes one value per possible CPU. */
export type PerCpuMapTypeName = (typeof PER_CPU_MAP_TYPE_NAMES)[number];

/** Map types whose values are per CPU: userspace reads and writes one value per possible CPU. */
export const PER_CPU_MAP_TYPES: ReadonlySet<MapTypeName> = new Set<MapTypeName>(PER_CPU_MAP_TYPE_NAMES);

/** Map types whose values are file descriptors of other objects (maps, programs, sockets…). */
export const FD_MAP_TYPES: ReadonlySet<MapTypeName> = new Set<MapTypeName>([
  "prog_array",
  "perf_event_array",
  "cgroup_array",
  "array_of_maps",
  "hash_of_maps",
  "sockmap",
  "sockhash",
  "reuseport_sockarray",
  "xskmap",
]);
