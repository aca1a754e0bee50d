/**
 * The shapes of a CollectionSpec: programs, maps and variables read from an ELF object, as
 * plain data to inspect and edit before loading. Pure: no kernel.
 */
import type { Instruction } from "../asm/instruction.js";
import type { BtfSpec } from "../btf/spec.js";
import type { MapSpec } from "./map-spec.js";
import type { ProgramSpec } from "./program-spec.js";

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
  programs: Record<string, ProgramSpec>;
  maps: Record<string, MapSpec>;
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
