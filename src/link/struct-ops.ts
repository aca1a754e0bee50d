/**
 * struct_ops: register a kernel "ops" struct (a TCP congestion control, sched_ext, …) whose
 * function members are BPF programs. The struct_ops map's value (`struct bpf_struct_ops_<type>`
 * in kernel BTF) is filled with program fds and data members; registering happens by the map
 * update itself (Linux 5.6) or, for maps created with BPF_F_LINK, by a bpf_link (6.4) that can
 * be updated to another map and pinned.
 */
import { NotSupportedError, TsbpfError } from "../errors.js";
import type { BtfSpec } from "../btf/spec.js";
import { BpfMap } from "../map/bpf-map.js";
import { ATTACH_TYPES } from "../spec/program-type.js";
import { btfLoad } from "../sys/btf-attr.js";
import { linkCreate, linkUpdate } from "../sys/link-attr.js";
import { kernelBtf, kernelBtfTarget } from "./btf-target.js";
import { BpfLink, CallbackLink, programFd, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";
import { rawMapDelete, rawMapUpdate, u32Key } from "./raw-map.js";
import { MapFlags } from "../spec/map-spec.js";
import { minimalBtf } from "../collection/struct-ops.js";


/** Where a struct_ops program goes: load it with these (program spec fields). */
export interface StructOpsProgramTarget {
  /** vmlinux BTF id of the ops struct (ProgramSpec.attachBtfId). */
  attachBtfId: number;
  /** The member's index in the struct (ProgramSpec.expectedAttachType). */
  expectedAttachType: number;
}

interface Member {
  name: string;
  index: number;
  /** Byte offset inside the map value (header included). */
  offset: number;
  size: number;
  isFunction: boolean;
  /** For char arrays: the length. */
  charArray?: number;
}

interface Layout {
  structId: number;
  valueTypeId: number;
  valueSize: number;
  members: Map<string, Member>;
}

function resolve(btf: BtfSpec, id: number): ReturnType<BtfSpec["typeById"]> {
  let t = btf.typeById(id);
  for (let i = 0; i < 32 && (t.kind === "typedef" || t.kind === "const" || t.kind === "volatile" || t.kind === "restrict" || t.kind === "type_tag"); i++) {
    t = btf.typeById((t as { type: number }).type);
  }
  return t;
}

/** The layout of `struct bpf_struct_ops_<type>` from kernel BTF. Throws TsbpfError when the kernel has no such ops. */
export function structOpsLayout(type: string, btf: BtfSpec = kernelBtf()): Layout {
  const structId = kernelBtfTarget("struct_ops", type, btf);
  const valueName = `bpf_struct_ops_${type}`;
  const valueIds = btf.idsByName(valueName, "struct");
  if (valueIds.length === 0) throw new TsbpfError(`struct_ops ${type}: the kernel has no ${valueName} (not a struct_ops type here)`);
  const valueTypeId = valueIds[0]!;
  const value = btf.typeOfKind(valueTypeId, "struct");
  const data = value.members.find((m) => m.name === "data");
  if (!data) throw new TsbpfError(`struct_ops ${type}: ${valueName} has no data member`);
  const base = data.bitOffset / 8;
  const st = btf.typeOfKind(structId, "struct");
  const members = new Map<string, Member>();
  st.members.forEach((m, index) => {
    const t = resolve(btf, m.type);
    let size = 0;
    let charArray: number | undefined;
    let isFunction = false;
    if (t.kind === "ptr") {
      size = 8;
      isFunction = resolve(btf, (t as { type: number }).type).kind === "func_proto";
    } else if (t.kind === "int") {
      size = (t as { size: number }).size;
    } else if (t.kind === "enum") {
      size = (t as { size: number }).size;
    } else if (t.kind === "array") {
      const a = t as { type: number; nelems: number };
      const el = resolve(btf, a.type);
      if (el.kind === "int" && (el as { size: number }).size === 1) charArray = a.nelems;
      size = el.kind === "int" ? (el as { size: number }).size * a.nelems : 0;
    }
    members.set(m.name, { name: m.name, index, offset: base + m.bitOffset / 8, size, isFunction, charArray });
  });
  return { structId, valueTypeId, valueSize: value.size, members };
}

/**
 * What to load a struct_ops program with, for member `member` of ops struct `type`, e.g.
 * `structOpsProgramTarget("tcp_congestion_ops", "cong_avoid")`. Throws TsbpfError for an
 * unknown struct or member.
 */
export function structOpsProgramTarget(type: string, member: string): StructOpsProgramTarget {
  const layout = structOpsLayout(type);
  const m = layout.members.get(member);
  if (!m || !m.isFunction) throw new TsbpfError(`struct_ops ${type}: no function member ${JSON.stringify(member)}`);
  return { attachBtfId: layout.structId, expectedAttachType: m.index };
}

/** Options of `attachStructOps`. */
export interface StructOpsOptions {
  /** The kernel ops struct, e.g. `"tcp_congestion_ops"`. */
  type: string;
  /** Programs by function member name (loaded as struct_ops, see structOpsProgramTarget). */
  programs: Record<string, AttachProgram>;
  /** Data members by name: integers, or strings for char arrays (e.g. `{ name: "my_cc" }`). */
  data?: Record<string, number | bigint | string>;
  /** `"link"` (default, Linux 6.4): a bpf_link; `"update"`: the map update registers (5.6). */
  method?: "link" | "update";
  /** The struct_ops map's name. Default: the type's first 15 characters. */
  mapName?: string;
}

const KEYS = ["type", "programs", "data", "method", "mapName"] as const;

/** Encode the map value. Pure apart from reading program fds. */
export function encodeStructOpsValue(layout: Layout, programs: Record<string, AttachProgram>, data: Record<string, number | bigint | string>, what: string): Uint8Array {
  const b = new Uint8Array(layout.valueSize);
  const v = new DataView(b.buffer);
  for (const [name, p] of Object.entries(programs)) {
    const m = layout.members.get(name);
    if (!m || !m.isFunction) throw new TypeError(`${what}: no function member ${JSON.stringify(name)}`);
    // The kernel reads a program fd from the function pointer slot.
    v.setBigUint64(m.offset, BigInt(programFd(p, `${what}: program ${name}`)), true);
  }
  for (const [name, val] of Object.entries(data)) {
    const m = layout.members.get(name);
    if (!m || m.isFunction) throw new TypeError(`${what}: no data member ${JSON.stringify(name)}`);
    if (typeof val === "string") {
      if (m.charArray === undefined) throw new TypeError(`${what}: member ${name} is not a char array`);
      const enc = new TextEncoder().encode(val);
      if (enc.length >= m.charArray) throw new TypeError(`${what}: ${name} ${JSON.stringify(val)} is longer than ${m.charArray - 1} bytes`);
      b.set(enc, m.offset);
    } else if (m.size === 8) v.setBigUint64(m.offset, BigInt.asUintN(64, BigInt(val)), true);
    else if (m.size === 4) v.setUint32(m.offset, Number(val) >>> 0, true);
    else if (m.size === 2) v.setUint16(m.offset, Number(val) & 0xffff, true);
    else if (m.size === 1) v.setUint8(m.offset, Number(val) & 0xff);
    else throw new TypeError(`${what}: member ${name} cannot be set from a number`);
  }
  return b;
}

/** Options of `createStructOpsMap`. */
export interface StructOpsMapOptions {
  type: string;
  programs: Record<string, AttachProgram>;
  data?: Record<string, number | bigint | string>;
  /** Create it for a link (BPF_F_LINK): filled but not registered until attached. Default true. */
  link?: boolean;
  mapName?: string;
}

/**
 * Create a struct_ops map for ops struct `type` and fill its value with the programs and data.
 * With `link: false` the update registers it at once (close the map to keep nothing alive:
 * unregistering needs a delete, see attachStructOps). The caller owns the map. Throws TypeError,
 * TsbpfError, BpfError.
 */
export function createStructOpsMap(options: StructOpsMapOptions): BpfMap {
  checkOptions("createStructOpsMap", options, ["type", "programs", "data", "link", "mapName"]);
  const layout = structOpsLayout(options.type);
  const label = `struct_ops ${options.type}${typeof options.data?.name === "string" ? ` "${options.data.name}"` : ""}`;
  const value = encodeStructOpsValue(layout, options.programs ?? {}, options.data ?? {}, label);
  const link = options.link ?? true;
  // The kernel wants some program BTF beside the vmlinux value type: a one-type blob will do.
  const btf = btfLoad(minimalBtf()).fd;
  let map: BpfMap;
  try {
    map = BpfMap.create({
      name: options.mapName ?? options.type.slice(0, 15),
      type: "struct_ops",
      keySize: 4,
      valueSize: layout.valueSize,
      maxEntries: 1,
      flags: link ? MapFlags.LINK : 0,
      btf: btf.value,
      btfVmlinuxValueTypeId: layout.valueTypeId,
    });
  } finally {
    btf.close();
  }
  try {
    rawMapUpdate(map.fd, u32Key(0), value, `${label}: ${link ? "fill" : "register"}`, "a required member may be missing, or the name is already registered");
    return map;
  } catch (e) {
    map.close();
    throw e;
  }
}

/** A registered struct_ops. `updateMap` swaps in another struct_ops map (link method only). */
export interface StructOpsLink extends Link {
  /**
   * Replace the registered struct_ops by another map from `createStructOpsMap` (link: true)
   * of the same type, atomically (BPF_LINK_UPDATE, Linux 6.4); the Link then owns that map.
   * Throws NotSupportedError for the update method, BpfError from the kernel.
   */
  updateMap(map: BpfMap): void;
}

/**
 * Register a struct_ops with the given programs and data, or (given a BpfMap) register a filled
 * BPF_F_LINK struct_ops map such as a `.struct_ops.link` map of a Collection by a link that does
 * not own the map (see attachStructOpsMap). With options, returns a Link that owns the
 * struct_ops map: close unregisters (link close, or deleting the map's element) and frees it.
 * Min kernel 5.6 (links 6.4). Throws TypeError for bad options, TsbpfError for an unknown
 * ops type, BpfError from the kernel (EINVAL: a required member is missing or a name is taken).
 */
export function attachStructOps(options: StructOpsOptions | BpfMap<any, any>): StructOpsLink {
  if (options instanceof BpfMap) return attachStructOpsMap(options);
  checkOptions("attachStructOps", options, KEYS);
  const method = options.method ?? "link";
  if (method !== "link" && method !== "update") throw new TypeError('attachStructOps: method must be "link" or "update"');
  const label = `struct_ops ${options.type}${typeof options.data?.name === "string" ? ` "${options.data.name}"` : ""}`;
  const map = createStructOpsMap({ type: options.type, programs: options.programs, data: options.data, link: method === "link", mapName: options.mapName });
  try {
    if (method === "update") {
      const l = new CallbackLink(
        "struct_ops_map",
        label,
        () => {
          try {
            rawMapDelete(map.fd, u32Key(0), `${label}: unregister`);
          } finally {
            map.close();
          }
        },
        () => ({ type: "struct_ops_map", mapId: map.info().id }),
      );
      return Object.assign(l, {
        updateMap(): void {
          throw new NotSupportedError("updating a struct_ops registered by map update", { minKernel: "6.4", detail: 'attach with method "link" (Linux 6.4) to swap maps' });
        },
      });
    }
    const fd = linkCreate({ progFd: map.fd, target: 0, attachType: ATTACH_TYPES.struct_ops, flags: 0, extra: { kind: "none" } }, `${label}: register`);
    return new StructOpsBpfLink(fd, label, map);
  } catch (e) {
    map.close();
    throw e;
  }
}

/**
 * Register a filled BPF_F_LINK struct_ops map by a bpf_link: the map of a `.struct_ops.link`
 * variable that `Collection.load` created and filled (`coll.maps.my_ops`), or one from
 * `createStructOpsMap`. The link does not own the map (the kernel keeps it alive while
 * registered; close the map's owner as usual). Close the link to unregister. Min kernel 6.4.
 * Throws TypeError for a map that is not a BPF_F_LINK struct_ops map, BpfError from the kernel
 * (EINVAL: the value was never filled or a required member is missing; EEXIST: the name is taken).
 */
export function attachStructOpsMap(map: BpfMap<any, any>): StructOpsLink {
  if (!(map instanceof BpfMap)) throw new TypeError("attachStructOpsMap: map must be a BpfMap");
  if (map.typeName !== "struct_ops") throw new TypeError(`attachStructOpsMap: map "${map.name}" is a ${map.typeName ?? map.type} map, not struct_ops`);
  if ((map.flags & MapFlags.LINK) === 0) {
    throw new TypeError(`attachStructOpsMap: map "${map.name}" was not created with BPF_F_LINK (a .struct_ops variable is registered when its map is filled; use SEC(".struct_ops.link") to register by link)`);
  }
  const label = `struct_ops map "${map.name}"`;
  const fd = linkCreate({ progFd: map.fd, target: 0, attachType: ATTACH_TYPES.struct_ops, flags: 0, extra: { kind: "none" } }, `${label}: register`);
  return new StructOpsBpfLink(fd, label, undefined);
}

/** A struct_ops bpf_link, owning its map unless given a borrowed one; update() swaps in another struct_ops map. */
class StructOpsBpfLink extends BpfLink implements StructOpsLink {
  #map: BpfMap | undefined;
  constructor(fd: ConstructorParameters<typeof BpfLink>[0], label: string, map: BpfMap | undefined) {
    super(fd, "struct_ops", label);
    this.#map = map;
  }
  override update(_program: AttachProgram, _options?: { expected?: AttachProgram }): void {
    this.checkOpen();
    throw new TypeError(`${this.describe()}: a struct_ops link is updated with updateMap(map)`);
  }
  /** Replace the registered struct_ops by another BPF_F_LINK struct_ops map (which this link then owns). */
  updateMap(map: BpfMap): void {
    this.checkOpen();
    linkUpdate(this.fd.value, map.fd, undefined, `${this.describe()}: update map`);
    this.#map?.close();
    this.#map = map;
  }
  protected override release(): void {
    try {
      super.release();
    } finally {
      this.#map?.close();
    }
  }
}
