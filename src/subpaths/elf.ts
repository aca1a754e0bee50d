/**
 * `tsbpf/elf`: reading BPF object files. The ELF reader and its constants, libbpf's
 * section-name convention, `CollectionSpec` (an object file as data, before any kernel call),
 * what it holds, and the kconfig reader. Everything here is pure (no kernel).
 */
export { parseElf, SHT, SHF, STT, STB, STV, SHN, EM, PT } from "../elf/elf-file.js";
export type { ElfFile, ElfSection, ElfSymbol, ElfRelocation, ElfSegment } from "../elf/elf-file.js";
export { parseSectionName, parseTarget, SECTION_DEFS } from "../spec/section-names.js";
export type { SectionDef, SectionInfo, SectionTarget, TargetKind } from "../spec/section-names.js";
export { CollectionSpec } from "../elf/collection-spec.js";
export type { CollectionSpecOptions } from "../elf/collection-spec.js";
export type { VariableSpec, ExternSpec, CollectionSpecData } from "../spec/collection-spec.js";
export type { MapSpec, MapPinning, FdLike, MapSlotValue, StructOpsSpec } from "../spec/map-spec.js";
export type { ProgramSpec, ProgramBtfInfo, ProgramFdLike, ProgramFuncInfo, ProgramLineInfo, ProgramCoreRelocation } from "../spec/program-spec.js";
export { SpecVariable } from "../elf/variables.js";
export type { VariableValue } from "../elf/variables.js";
export { parseKconfig, kernelVersionCode } from "../elf/kconfig.js";
