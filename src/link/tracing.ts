/**
 * Trampoline programs: fentry, fexit, fmod_ret (tracing programs, Linux 5.5), LSM (5.7) and
 * freplace (ext programs replacing a function of another BPF program, 5.6). Their target is
 * fixed at load (attachBtfId, see kernelBtfTarget; attachTarget for freplace/fentry on BPF);
 * attaching makes a bpf_link.
 */
import { BpfError, permissionHint } from "../errors.js";
import { ATTACH_TYPES } from "../spec/program-type.js";
import { linkCreate, rawTracepointOpen } from "../sys/link-attr.js";
import { expectProgramType, BpfLink, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";

/** Options of `attachTracing`. */
export interface TracingOptions {
  /**
   * A value for bpf_get_attach_cookie (Linux 5.19, fentry/fexit/fmod_ret only). Needs
   * `attachType`: the cookie travels in BPF_LINK_CREATE, which names the attach type.
   */
  cookie?: bigint;
  /** The program's expected attach type (`"trace_fentry"`, `"trace_fexit"`, `"modify_return"`). */
  attachType?: "trace_fentry" | "trace_fexit" | "modify_return";
}

/** The hint for EPERM on trampolines: this is how sandboxed kernels (and lockdown) refuse them. */
function trampolineEpermHint(): string {
  return `trampoline programs (fentry/fexit/fmod_ret/lsm/freplace) were refused: ${permissionHint("CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN)")}`;
}

function trampHint(e: number): string | undefined {
  if (e === 1) return trampolineEpermHint();
  if (e === 22) return "the program was not loaded with a BTF attach target (attachBtfId) of this kind";
  if (e === 524 || e === 95) return "this kernel or architecture has no BPF trampolines";
  return undefined;
}

/**
 * Attach a loaded fentry/fexit/fmod_ret/lsm program to the target it was loaded for. Min
 * kernel 5.5 (LSM 5.7, cookie 5.19). Throws BpfError (EPERM with a hint when trampolines are
 * refused).
 */
export function attachTracing(program: AttachProgram<"tracing">, options: TracingOptions = {}): Link {
  checkOptions("attachTracing", options, ["cookie", "attachType"]);
  expectProgramType(program, "tracing", "attachTracing");
  const progFd = programFd(program, "attachTracing: program");
  const label = `tracing ${programLabel(program)}`;
  if (options.attachType !== undefined && !["trace_fentry", "trace_fexit", "modify_return"].includes(options.attachType)) {
    throw new TypeError('attachTracing: attachType must be "trace_fentry", "trace_fexit" or "modify_return"');
  }
  if (options.cookie !== undefined) {
    if (options.attachType === undefined) throw new TypeError("attachTracing: a cookie needs attachType (it is passed through BPF_LINK_CREATE)");
    const fd = linkCreate(
      { progFd, target: 0, attachType: ATTACH_TYPES[options.attachType], flags: 0, extra: { kind: "tracing", targetBtfId: 0, cookie: options.cookie } },
      `${label}: attach`,
      trampHint,
    );
    return new BpfLink(fd, "tracing", label);
  }
  const fd = rawTracepointOpen(progFd, undefined, 0n, `${label}: attach`, trampHint);
  return new BpfLink(fd, "tracing", label);
}

/**
 * Attach a loaded LSM program (type lsm, expected attach type lsm_mac) to its hook. Min kernel
 * 5.7. Throws BpfError.
 */
export function attachLsm(program: AttachProgram<"lsm">): Link {
  expectProgramType(program, "lsm", "attachLsm");
  const progFd = programFd(program, "attachLsm: program");
  const label = `lsm ${programLabel(program)}`;
  try {
    const fd = linkCreate({ progFd, target: 0, attachType: ATTACH_TYPES.lsm_mac, flags: 0, extra: { kind: "none" } }, `${label}: attach`, trampHint);
    return new BpfLink(fd, "tracing", label);
  } catch (e) {
    // Kernels before 5.11 know LSM links only through BPF_RAW_TRACEPOINT_OPEN.
    if (!(e instanceof BpfError) || e.code !== "EINVAL") throw e;
    return new BpfLink(rawTracepointOpen(progFd, undefined, 0n, `${label}: attach`, trampHint), "tracing", label);
  }
}

/** Options of `attachFreplace`. */
export interface FreplaceOptions {
  /** The BPF program whose function is replaced. Default: the attachTarget given at load. */
  target?: AttachProgram;
  /** BTF id of the replaced function in the target program's BTF (needed with `target`). */
  targetBtfId?: number;
}

/**
 * Attach an ext (freplace) program, replacing a global function of another BPF program.
 * Min kernel 5.6 (other targets than the load-time one: 5.10). Throws TypeError, BpfError.
 */
export function attachFreplace(program: AttachProgram<"ext">, options: FreplaceOptions = {}): Link {
  checkOptions("attachFreplace", options, ["target", "targetBtfId"]);
  expectProgramType(program, "freplace", "attachFreplace");
  const progFd = programFd(program, "attachFreplace: program");
  if ((options.target === undefined) !== (options.targetBtfId === undefined)) throw new TypeError("attachFreplace: give target and targetBtfId together");
  const target = options.target === undefined ? 0 : programFd(options.target, "attachFreplace: target");
  const btfId = options.targetBtfId ?? 0;
  if (!Number.isInteger(btfId) || btfId < 0) throw new TypeError("attachFreplace: targetBtfId must be a BTF id");
  const label = `freplace ${programLabel(program)}`;
  const fd = linkCreate({ progFd, target, attachType: 0, flags: 0, extra: { kind: "tracing", targetBtfId: btfId, cookie: 0n } }, `${label}: attach`, trampHint);
  return new BpfLink(fd, "tracing", label);
}
