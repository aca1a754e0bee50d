/**
 * Raw tracepoints (raw_tracepoint programs, Linux 4.17) and BTF-typed tracepoints (tp_btf:
 * tracing programs with expected attach type trace_raw_tp, Linux 5.5), attached with
 * BPF_RAW_TRACEPOINT_OPEN.
 */
import { rawTracepointOpen } from "../sys/link-attr.js";
import { expectProgramType, BpfLink, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";

/** Options of `attachRawTracepoint`. */
export interface RawTracepointOptions {
  /** The tracepoint name without category, e.g. `"sys_enter"`, `"sched_switch"`. */
  name: string;
  /** A value for bpf_get_attach_cookie (Linux 6.10). */
  cookie?: bigint;
}

const NAME = /^[A-Za-z0-9_]{1,127}$/;

/**
 * Attach a raw_tracepoint program to a tracepoint by name. Returns a bpf_link Link. Min
 * kernel 4.17 (cookie 6.10). Throws TypeError, BpfError (ENOENT: no such tracepoint).
 */
export function attachRawTracepoint(program: AttachProgram<"raw_tracepoint" | "raw_tracepoint_writable">, options: RawTracepointOptions): Link {
  checkOptions("attachRawTracepoint", options, ["name", "cookie"]);
  if (typeof options.name !== "string" || !NAME.test(options.name)) throw new TypeError("attachRawTracepoint: name must be a tracepoint name like \"sys_enter\"");
  expectProgramType(program, "rawTracepoint", "attachRawTracepoint");
  const progFd = programFd(program, "attachRawTracepoint: program");
  const label = `raw_tracepoint ${options.name} ${programLabel(program)}`;
  const fd = rawTracepointOpen(progFd, options.name, options.cookie ?? 0n, `${label}: attach`, (e) => (e === 2 ? `no tracepoint named ${options.name}` : undefined));
  return new BpfLink(fd, "raw_tracepoint", label);
}

/**
 * Attach a tp_btf program (its target was fixed at load by attachBtfId, see
 * `kernelBtfTarget`). Returns a bpf_link Link. Min kernel 5.5. Throws BpfError.
 */
export function attachTpBtf(program: AttachProgram<"tracing">, options: { cookie?: bigint } = {}): Link {
  checkOptions("attachTpBtf", options, ["cookie"]);
  expectProgramType(program, "tpBtf", "attachTpBtf");
  const progFd = programFd(program, "attachTpBtf: program");
  const label = `tp_btf ${programLabel(program)}`;
  const fd = rawTracepointOpen(progFd, undefined, options.cookie ?? 0n, `${label}: attach`);
  return new BpfLink(fd, "raw_tracepoint", label);
}
