/**
 * The shapes of a CollectionSpec: programs, maps and variables read from an ELF object, as
 * plain data to inspect and edit before loading. Pure: no kernel.
 */
import type { Instruction } from "../asm/instruction.js";
import type { BtfSpec } from "../btf/spec.js";
import type { MapSpec } from "../map/map-spec.js";
import type { ProgramSpec } from "../program/program-spec.js";
import type { SectionInfo } from "./section-names.js";

/** A `.BTF.ext` func_info or line_info record, relative to the program's own instructions. */
export interface ProgramFuncInfo {
  /** Instruction slot (8-byte unit) in the program's final instruction list. */
  readonly insnOff: number;
  /** BTF id of the `func`. */
  readonly typeId: number;
}

/** A line_info record (offsets into the object's BTF string table). */
export interface ProgramLineInfo {
  readonly insnOff: number;
  readonly fileNameOff: number;
  readonly lineOff: number;
  /** `(line << 10) | column`, as the kernel takes it. */
  readonly lineCol: number;
}

/** A CO-RE relocation record, carried for the CO-RE engine (not applied by the ELF loader). */
export interface ProgramCoreRelocation {
  readonly insnOff: number;
  readonly typeId: number;
  readonly accessStrOff: number;
  readonly kind: number;
}

/** A program read from an ELF object: a ProgramSpec plus where it came from. */
export interface ElfProgramSpec extends ProgramSpec {
  /** The function's name (the key in `CollectionSpec.programs`). */
  name: string;
  /** The ELF section it was in, with any `?` prefix removed (`"tracepoint/syscalls/sys_enter_openat"`). */
  section: string;
  /** What the section name says (type, attach type, target…), when the convention knows it. */
  sectionInfo?: SectionInfo;
  /** Whether `Collection.load` loads it by default (false for `?` sections). */
  autoload: boolean;
  /** Names of the subprograms appended after the program's own instructions. */
  subprograms: string[];
  /** func_info records for the linked instruction list (from `.BTF.ext`), when there is BTF. */
  funcInfos?: ProgramFuncInfo[];
  /** line_info records for the linked instruction list. */
  lineInfos?: ProgramLineInfo[];
  /** CO-RE relocation records for the linked instruction list. */
  coreRelocations?: ProgramCoreRelocation[];
}

/** What a prog array or map-of-maps slot is initialised with. */
export type MapSlotValue = { readonly kind: "program"; readonly name: string } | { readonly kind: "map"; readonly name: string };

/** A map read from an ELF object: a MapSpec plus ELF details. */
export interface ElfMapSpec extends MapSpec {
  name: string;
  /** Where it was defined: `".maps"`, `"maps"`, or a data section (`".data"`, `".rodata.str1.1"`, `".kconfig"`). */
  section: string;
  /** How it was defined. */
  kind: "btf" | "legacy" | "data" | "kconfig" | "struct_ops";
  /** Initial value of key 0 for global data maps (a copy of the section, or zeros for .bss). */
  contents?: Uint8Array;
  /** Freeze after initialising (read-only data: `.rodata*`, `.kconfig`). */
  freeze?: boolean;
  /** Initial slots of a prog array or map of maps (`values` in the BTF definition), by index. */
  values?: Map<number, MapSlotValue>;
  /** BTF type ids of key and value in the object's BTF (0 when none). */
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** The inner map template of a map of maps. */
  innerMap?: ElfMapSpec;
  /**
   * Whether Collection.load creates it: false for `?.struct_ops*` variables, as libbpf (set it
   * to true to create one). Default true.
   */
  autocreate?: boolean;
  /** For struct_ops maps (`.struct_ops*` variables): the local struct, its data and its programs. */
  structOps?: StructOpsSpec;
}

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

/** A global variable in a data section, readable and writable through its map's contents. */
export interface VariableSpec {
  readonly name: string;
  /** The map (data section) holding it. */
  readonly map: string;
  readonly offset: number;
  readonly size: number;
  /** BTF id of the variable's type (0 without BTF). */
  readonly typeId: number;
  /** Whether the variable is in read-only data (`.rodata*`): settable only before load. */
  readonly readonly: boolean;
  /** Whether the variable has static linkage. */
  readonly static: boolean;
}

/** An extern the object refers to (`.kconfig` values, `__ksym` kernel symbols). */
export interface ExternSpec {
  readonly name: string;
  readonly kind: "kconfig" | "ksym";
  /** Weak externs may stay unresolved (they read as 0). */
  readonly weak: boolean;
  /** Offset in the `.kconfig` map, for kconfig externs. */
  readonly offset?: number;
  readonly size?: number;
  /** BTF id of the extern's type (0 without BTF). */
  readonly typeId: number;
}

/** Everything an ELF object holds, ready to edit and then load. */
export interface CollectionSpecData {
  programs: Record<string, ElfProgramSpec>;
  maps: Record<string, ElfMapSpec>;
  variables: Record<string, VariableSpec>;
  externs: Record<string, ExternSpec>;
  /** The object's `license` section ("" when absent). */
  license: string;
  /** The object's `version` section, when present. */
  version?: number;
  /** The object's BTF (`.BTF`), when present. */
  btf?: BtfSpec;
  /** The raw `.BTF.ext`, when present. */
  btfExt?: Uint8Array;
  byteOrder: "little" | "big";
  /** The object's name (file name up to its first dot), used to name global data maps as libbpf does. */
  objectName: string;
}

/** Instructions of every function of the object, for tools (`tsbpf disasm`) that want them all. */
export interface ElfFunction {
  readonly name: string;
  readonly section: string;
  readonly instructions: readonly Instruction[];
}
