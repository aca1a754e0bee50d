/**
 * What the kernel says about a map: `struct bpf_map_info` (BPF_OBJ_GET_INFO_BY_FD) as a
 * MapInfo, plus what only /proc/self/fdinfo tells (frozen; whether an fd is a map at all).
 */
import { fdinfoNumber, readFdinfo, type Fd } from "../sys/fd.js";
import { NativeMemory } from "../sys/libc.js";
import { MAP_INFO_SIZE, readMapInfo, type RawMapInfo } from "../sys/map-attr.js";
import { objGetInfoByFd } from "../sys/obj.js";
import { mapTypeName, type MapTypeName } from "../spec/map-type.js";

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
  /**
   * Bytes charged for the map (fdinfo `memlock`, bpftool's `bytes_memlock`); undefined when
   * procfs is missing or the map was just created (its info is then read without procfs).
   */
  memlock: number | undefined;
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
    memlock: undefined,
  };
}

/**
 * The info of the map behind `fd`. `fresh` says the map was created a moment ago, so it cannot
 * be frozen and procfs is skipped (an open and two reads per map). Throws BpfError.
 */
export function readInfo(fd: Fd, what: string, fresh = false): MapInfo {
  const mem = new NativeMemory(MAP_INFO_SIZE);
  objGetInfoByFd(fd, mem, what);
  const info = toInfo(readMapInfo(mem));
  if (fresh) return info;
  // bpf_map_info has no frozen flag or memlock; the fdinfo the kernel prints for the map does.
  const text = readFdinfo(fd);
  info.frozen = fdinfoNumber(text, "frozen") === 1;
  info.memlock = fdinfoNumber(text, "memlock");
  return info;
}

/**
 * Throws TypeError unless `fd` is a BPF map: BPF_OBJ_GET_INFO_BY_FD would happily fill a map
 * info buffer with a program's or link's info. The kernel's fdinfo names the map type.
 */
export function checkIsMap(fd: Fd): void {
  const text = readFdinfo(fd);
  if (text === undefined) return; // no procfs: the info read is the only check
  if (!/^map_type:/m.test(text)) {
    const kind = /^prog_type:/m.test(text) ? "a BPF program" : /^link_type:/m.test(text) ? "a BPF link" : "not a BPF map";
    throw new TypeError(`${fd.what}: fd ${fd.value} is ${kind === "not a BPF map" ? kind : `${kind}, not a map`}`);
  }
}
