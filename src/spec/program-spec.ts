/**
 * `ProgramSpec`: the blueprint of a program, plain data that can be inspected and edited
 * (swap instructions, change the type or name) before anything reaches the kernel.
 */
import type { Instruction } from "../asm/instruction.js";
import type { AttachTypeName, ProgramTypeName } from "./program-type.js";
import type { SectionInfo } from "./section-names.js";
import { checkOptions } from "../errors.js";

/**
 * BTF records of a program: `bpf_func_info` and `bpf_line_info` arrays as the kernel reads
 * them. Their type ids and string offsets refer to a BTF blob that must be loaded into the
 * kernel first; pass its fd as `ProgramLoadOptions.btf`.
 */
export interface ProgramBtfInfo {
  /** `struct bpf_func_info` records (insn_off in instructions, type_id): 8 bytes each by default. */
  readonly funcInfo?: Uint8Array;
  /** Size of one func info record; defaults to 8. */
  readonly funcInfoRecSize?: number;
  /** `struct bpf_line_info` records: 16 bytes each by default. */
  readonly lineInfo?: Uint8Array;
  /** Size of one line info record; defaults to 16. */
  readonly lineInfoRecSize?: number;
}

/** Something that is (or has) a program's fd, to attach a program to another program. */
export type ProgramFdLike = number | { readonly fd: number };

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

/**
 * The blueprint of a program. Every field except `type` and `instructions` is optional. A spec
 * read from an object file (`CollectionSpec.programs`) also carries where it came from
 * (`section`, `sectionInfo`, `autoload`, `subprograms`) and its `.BTF.ext` records
 * (`funcInfos`, `lineInfos`, `coreRelocations`); `Collection.load` uses those, `Program.load`
 * takes only the fields above them.
 */
export interface ProgramSpec {
  /**
   * The program's name, shown by bpftool. The kernel keeps 15 bytes of `[A-Za-z0-9_.]`:
   * longer names are cut and other characters replaced by `_` when loading.
   */
  name?: string;
  /** Program type by name (`"xdp"`, `"socket_filter"`, …) or its UAPI number. */
  type: ProgramTypeName | number;
  /** The attach type the verifier checks the program against (required for some types, e.g. cgroup_sock_addr, tracing). */
  expectedAttachType?: AttachTypeName | number;
  /** Kernel BTF type id of the attach target (fentry/fexit/lsm/tp_btf/struct_ops/freplace). */
  attachBtfId?: number;
  /**
   * The BPF program to attach to (freplace, fentry on a BPF program): a Program or an fd.
   * Mutually exclusive with `attachBtfObjFd`.
   */
  attachTarget?: ProgramFdLike;
  /** fd of a kernel module's BTF when `attachBtfId` is in a module (0 = vmlinux). */
  attachBtfObjFd?: number;
  /** License string; GPL-only helpers need a GPL-compatible one. Defaults to `"GPL"`. */
  license?: string;
  /** `prog_flags` (BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, … see `ProgramFlags`). Defaults to 0. */
  flags?: number;
  /** The program's instructions; `ld_imm64` map references are resolved at load. */
  instructions: readonly Instruction[];
  /** func/line info records for the program, when the program has BTF. */
  btf?: ProgramBtfInfo;
  /** `kern_version`: only kprobe programs on kernels before 5.0 need it. Defaults to 0. */
  kernelVersion?: number;
  /** Netdev to offload to or bind to (`prog_ifindex`, XDP dev-bound / hardware offload). */
  ifindex?: number;

  // Read from an object file (set on every program of a CollectionSpec):

  /** The ELF section it was in, with any `?` prefix removed (`"tracepoint/syscalls/sys_enter_openat"`). */
  section?: string;
  /** What the section name says (type, attach type, target…), when the convention knows it. */
  sectionInfo?: SectionInfo;
  /** Whether `Collection.load` loads it by default (false for `?` sections). */
  autoload?: boolean;
  /** Names of the subprograms appended after the program's own instructions. */
  subprograms?: string[];
  /** func_info records for the linked instruction list (from `.BTF.ext`), when there is BTF. */
  funcInfos?: ProgramFuncInfo[];
  /** line_info records for the linked instruction list. */
  lineInfos?: ProgramLineInfo[];
  /** CO-RE relocation records for the linked instruction list. */
  coreRelocations?: ProgramCoreRelocation[];
}

/** `prog_flags` bits of BPF_PROG_LOAD, by name. */
export const ProgramFlags = {
  /** BPF_F_STRICT_ALIGNMENT: verify alignment strictly, even where the CPU does not need it. */
  strictAlignment: 1 << 0,
  /** BPF_F_ANY_ALIGNMENT: skip alignment checks (testing only). */
  anyAlignment: 1 << 1,
  /** BPF_F_TEST_RND_HI32: randomise upper halves of 32-bit subregisters (testing). */
  testRndHi32: 1 << 2,
  /** BPF_F_TEST_STATE_FREQ: verifier test mode. */
  testStateFreq: 1 << 3,
  /** BPF_F_SLEEPABLE: the program may sleep (fentry/lsm/iter/uprobe/syscall). Linux 5.10. */
  sleepable: 1 << 4,
  /** BPF_F_XDP_HAS_FRAGS: the XDP program handles multi-buffer frames. Linux 5.18. */
  xdpHasFrags: 1 << 5,
  /** BPF_F_XDP_DEV_BOUND_ONLY: the XDP program is bound to `ifindex` (metadata kfuncs). Linux 6.3. */
  xdpDevBoundOnly: 1 << 6,
  /** BPF_F_TEST_REG_INVARIANTS: verifier self-check (testing). Linux 6.7. */
  testRegInvariants: 1 << 7,
} as const;

const SPEC_KEYS = new Set([
  "name", "type", "expectedAttachType", "attachBtfId", "attachTarget", "attachBtfObjFd", "license",
  "flags", "instructions", "btf", "kernelVersion", "ifindex",
]);

/** Reject keys a ProgramSpec does not have (typos from JS callers). Throws TypeError. */
export function checkSpecKeys(spec: object): void {
  checkOptions("ProgramSpec", spec, SPEC_KEYS, "field");
}

/**
 * The name the kernel will keep for `name`: at most 15 bytes, characters outside
 * `[A-Za-z0-9_.]` replaced by `_` (the kernel refuses them with EINVAL).
 */
export function kernelProgramName(name: string): string {
  // Most names are already what the kernel keeps: checked by a loop, without a regex per load.
  if (name.length <= 15) {
    let plain = true;
    for (let i = 0; plain && i < name.length; i++) {
      const c = name.charCodeAt(i);
      plain = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e;
    }
    if (plain) return name;
  }
  return name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15);
}
