/**
 * MapSpec: the plain-data blueprint of a map, inspectable and editable before anything reaches
 * the kernel. Validation and name handling live here; BpfMap.create turns a spec into a map.
 */
import type { Codec } from "../codec.js";
import { mapTypeName, mapTypeNumber, type MapTypeName } from "./map-type.js";
import { checkOptions } from "../errors.js";

/**
 * `map_flags` bits of BPF_MAP_CREATE (UAPI `BPF_F_*`), for `MapSpec.flags`. The one table of
 * them: the ELF reader, struct_ops and BpfMap all take their bits from here.
 */
export const MapFlags = {
  /** Hash maps: allocate elements on demand (BPF_F_NO_PREALLOC). */
  NO_PREALLOC: 1 << 0,
  /** LRU maps: one LRU list per CPU (BPF_F_NO_COMMON_LRU). */
  NO_COMMON_LRU: 1 << 1,
  /** Honour `numa_node` (BPF_F_NUMA_NODE). */
  NUMA_NODE: 1 << 2,
  /** Open read-only from userspace (BPF_F_RDONLY). */
  RDONLY: 1 << 3,
  /** Open write-only from userspace (BPF_F_WRONLY). */
  WRONLY: 1 << 4,
  /** Stack trace maps: store build ids (BPF_F_STACK_BUILD_ID). */
  STACK_BUILD_ID: 1 << 5,
  /** Hash maps: zero hash seed, for tests (BPF_F_ZERO_SEED). */
  ZERO_SEED: 1 << 6,
  /** Programs may only read (BPF_F_RDONLY_PROG). */
  RDONLY_PROG: 1 << 7,
  /** Programs may only write (BPF_F_WRONLY_PROG). */
  WRONLY_PROG: 1 << 8,
  /** sk storage: clone to child sockets (BPF_F_CLONE). */
  CLONE: 1 << 9,
  /** Arrays and arenas: allow mmap (BPF_F_MMAPABLE). */
  MMAPABLE: 1 << 10,
  /** perf event arrays: keep entries when the map fd is closed (BPF_F_PRESERVE_ELEMS). */
  PRESERVE_ELEMS: 1 << 11,
  /** Inner map templates: allow inner maps of different max_entries (BPF_F_INNER_MAP). */
  INNER_MAP: 1 << 12,
  /** struct_ops maps: attach through a bpf_link (BPF_F_LINK). */
  LINK: 1 << 13,
  /** value_type_btf_obj_fd is set (BPF_F_VTYPE_BTF_OBJ_FD). */
  VTYPE_BTF_OBJ_FD: 1 << 15,
  /** map_token_fd is set (BPF_F_TOKEN_FD). */
  TOKEN_FD: 1 << 16,
  /** Arenas: SIGSEGV on a userspace fault instead of inserting a page (BPF_F_SEGV_ON_FAULT). */
  SEGV_ON_FAULT: 1 << 17,
  /** Arenas: do not translate kernel pointers to user pointers (BPF_F_NO_USER_CONV). */
  NO_USER_CONV: 1 << 18,
} as const;

/** How a map is pinned when created from a spec (libbpf's `LIBBPF_PIN_*`). */
export type MapPinning = "none" | "by_name";

/** Something that holds a kernel object fd: a number, or an object with an `fd` (BpfMap, Btf…). */
export type FdLike = number | { readonly fd: number };

/**
 * The blueprint of a map (BPF_MAP_CREATE's fields, plus codecs and pinning). Every field but
 * `type` is optional; sizes default to the codecs' sizes, or 0.
 *
 * `K` and `V` are the JS types of a key and of one value; a per-CPU map holds one `V` per
 * possible CPU, so its BpfMap gives `V[]`.
 *
 * A spec read from an object file (`CollectionSpec.maps`) also says where it came from
 * (`section`, `kind`) and what `Collection.load` does with it (`contents`, `freeze`, `values`,
 * `autocreate`, `structOps`); `BpfMap.create` takes only the fields above them.
 */
export interface MapSpec<K = Uint8Array, V = Uint8Array> {
  /** Map name: up to 15 characters of [A-Za-z0-9_.]; longer names are truncated, as libbpf does. */
  name?: string;
  /** Map type, by bpftool name (`"hash"`) or UAPI number. */
  type: MapTypeName | number;
  /** Key size in bytes; defaults to the key codec's size, else 0. */
  keySize?: number;
  /** Value size in bytes (of one CPU's value for per-CPU maps); defaults to the value codec's size, else 0. */
  valueSize?: number;
  /** max_entries (ring buffers: bytes, a power of two and page multiple; arenas: pages). Default 0; a perf_event_array without one gets one slot per possible CPU. */
  maxEntries?: number;
  /** map_flags: MapFlags bits OR-ed together. */
  flags?: number;
  /** For array_of_maps / hash_of_maps: the inner map's template (created and closed for you) or a live map. */
  innerMap?: MapSpec<any, any> | { readonly fd: number };
  /** map_extra: bloom filter hash count, arena user address (bigint or safe integer). */
  mapExtra?: bigint | number;
  /** NUMA node (sets BPF_F_NUMA_NODE). */
  numaNode?: number;
  /** Offload to this network interface (map_ifindex). */
  ifindex?: number;
  /** BTF object for btf_*_type_id (its fd, or an object with `fd`). */
  btf?: FdLike;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** struct_ops maps: the kernel struct's BTF id in vmlinux (or in `valueTypeBtfObj`). */
  btfVmlinuxValueTypeId?: number;
  /** struct_ops from a module: that module's BTF object (sets BPF_F_VTYPE_BTF_OBJ_FD). */
  valueTypeBtfObj?: FdLike;
  /** A BPF token to create the map with (sets BPF_F_TOKEN_FD). */
  token?: FdLike;
  /** Pin by name under MapCreateOptions.pinPath (default /sys/fs/bpf), reusing a compatible pin. */
  pinning?: MapPinning;
  /** Codec of keys; defaults to raw bytes of keySize. */
  key?: Codec<K>;
  /** Codec of one value; defaults to raw bytes of valueSize. */
  value?: Codec<V>;

  // Read from an object file (set on every map of a CollectionSpec):

  /** Where it was defined: `".maps"`, `"maps"`, or a data section (`".data"`, `".rodata.str1.1"`, `".kconfig"`). */
  section?: string;
  /** How it was defined. */
  kind?: "btf" | "legacy" | "data" | "kconfig" | "struct_ops";
  /** Initial value of key 0 for global data maps (a copy of the section, or zeros for .bss). */
  contents?: Uint8Array;
  /** Freeze after initialising (read-only data: `.rodata*`, `.kconfig`). */
  freeze?: boolean;
  /** Initial slots of a prog array or map of maps (`values` in the BTF definition), by index. */
  values?: Map<number, MapSlotValue>;
  /**
   * Whether Collection.load creates it: false for `?.struct_ops*` variables, as libbpf (set it
   * to true to create one). Default true.
   */
  autocreate?: boolean;
  /** For struct_ops maps (`.struct_ops*` variables): the local struct, its data and its programs. */
  structOps?: StructOpsSpec;
}

/** What a prog array or map-of-maps slot is initialised with. */
export type MapSlotValue = { readonly kind: "program"; readonly name: string } | { readonly kind: "map"; readonly name: string };

/**
 * A struct_ops variable: the local struct (laid out against the kernel's type of the same name at
 * load, members matched by name), its initial bytes and the program of each function member.
 */
export interface StructOpsSpec {
  /** The ops type, e.g. `"tcp_congestion_ops"` (kernel types `<name>` and `bpf_struct_ops_<name>`). */
  typeName: string;
  /** Initial bytes of the local struct (BTF type `btfValueTypeId`); function slots are zero. Editable before load. */
  data: Uint8Array;
  /** Program name by function member name. */
  programs: Record<string, string>;
}

const SPEC_KEYS = new Set([
  "name", "type", "keySize", "valueSize", "maxEntries", "flags", "innerMap", "mapExtra", "numaNode",
  "ifindex", "btf", "btfKeyTypeId", "btfValueTypeId", "btfVmlinuxValueTypeId", "valueTypeBtfObj",
  "token", "pinning", "key", "value",
]);

/** Longest map name the kernel keeps (BPF_OBJ_NAME_LEN - 1). */
export const MAX_MAP_NAME_LENGTH = 15;

/**
 * The name the kernel gets for `name`: the first 15 characters, as libbpf truncates. Throws
 * TypeError for characters the kernel refuses (it takes only [A-Za-z0-9_.]).
 */
export function kernelMapName(name: string): string {
  if (typeof name !== "string") throw new TypeError(`map name must be a string, got ${typeof name}`);
  const bad = /[^A-Za-z0-9_.]/.exec(name);
  if (bad) {
    throw new TypeError(`map name ${JSON.stringify(name)} contains ${JSON.stringify(bad[0])}: the kernel accepts only letters, digits, "_" and "."`);
  }
  return name.slice(0, MAX_MAP_NAME_LENGTH);
}

/** How a value given where a number belongs reads in a message: `the string "8"`, `8.5`, `undefined`. */
export function describeValue(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "bigint") return `the bigint ${v}n`;
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return "an array";
  const t = typeof v;
  return `${/^[aeiou]/.test(t) ? "an" : "a"} ${t}`;
}

function u32(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new TypeError(`${what} must be an integer in 0..2^32-1, got ${describeValue(v)}`);
  }
  return v;
}

/** The spec's type as a number and (when known) its name. */
export function specType(spec: Pick<MapSpec<unknown, unknown>, "type">): { type: number; typeName: MapTypeName | undefined } {
  const type = mapTypeNumber(spec.type);
  return { type, typeName: mapTypeName(type) };
}

/**
 * Check a spec's shape before any syscall: known keys only, integers in range, codec sizes
 * matching the given sizes. Returns the sizes to use. Throws TypeError/RangeError naming the field.
 */
export function checkMapSpec(spec: MapSpec<unknown, unknown>): { keySize: number; valueSize: number; maxEntries: number; flags: number } {
  if (typeof spec !== "object" || spec === null) throw new TypeError("a MapSpec must be an object");
  checkOptions("MapSpec", spec, SPEC_KEYS, "field");
  specType(spec);
  const label = spec.name ? `map "${spec.name}"` : "map";
  const keySize = spec.keySize !== undefined ? u32(spec.keySize, `${label}: keySize`) : spec.key?.size ?? 0;
  const valueSize = spec.valueSize !== undefined ? u32(spec.valueSize, `${label}: valueSize`) : spec.value?.size ?? 0;
  if (spec.key && spec.key.size !== keySize) {
    throw new RangeError(`${label}: key codec is ${spec.key.size} bytes but keySize is ${keySize}`);
  }
  if (spec.value && spec.value.size !== valueSize) {
    throw new RangeError(`${label}: value codec is ${spec.value.size} bytes but valueSize is ${valueSize}`);
  }
  const maxEntries = spec.maxEntries !== undefined ? u32(spec.maxEntries, `${label}: maxEntries`) : 0;
  const flags = spec.flags !== undefined ? u32(spec.flags, `${label}: flags`) : 0;
  for (const f of ["numaNode", "ifindex", "btfKeyTypeId", "btfValueTypeId", "btfVmlinuxValueTypeId"] as const) {
    if (spec[f] !== undefined) u32(spec[f], `${label}: ${f}`);
  }
  if (spec.mapExtra !== undefined) {
    const x = spec.mapExtra;
    const ok = typeof x === "bigint" ? x >= 0n && x <= 0xffffffffffffffffn : typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
    if (!ok) throw new TypeError(`${label}: mapExtra must be a u64 (bigint or safe integer), got ${String(x)}`);
  }
  if (spec.pinning !== undefined && spec.pinning !== "none" && spec.pinning !== "by_name") {
    throw new TypeError(`${label}: pinning must be "none" or "by_name", got ${JSON.stringify(spec.pinning)}`);
  }
  if (spec.pinning === "by_name" && !spec.name) throw new TypeError("MapSpec: pinning \"by_name\" needs a name");
  if (spec.pinning === "by_name" && (spec.name === "." || spec.name === "..")) {
    // The name becomes a path component under pinPath: "." and ".." would name the directory itself or its parent.
    throw new TypeError(`${label}: pinning "by_name" needs a name that is a file name, not ${JSON.stringify(spec.name)} (it would pin at the directory or its parent)`);
  }
  if (spec.name !== undefined) kernelMapName(spec.name);
  return { keySize, valueSize, maxEntries, flags };
}

/** The fd number of an FdLike (throws TypeError for anything else). */
export function fdOf(x: FdLike, what: string): number {
  const n = typeof x === "number" ? x : typeof x === "object" && x !== null ? x.fd : undefined;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new TypeError(`${what} must be an fd or an object with an fd`);
  return n;
}
