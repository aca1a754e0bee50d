/**
 * Tracepoints: attach a tracepoint program to `category:name` through a perf event
 * (perf_event_open of PERF_TYPE_TRACEPOINT with the id from tracefs), as a perf_event
 * bpf_link (Linux 5.15) or with PERF_EVENT_IOC_SET_BPF (4.7).
 */
import { PERF_TYPE, perfEventOpen, tracepointId } from "../sys/perf-event.js";
import { checkOptions } from "../errors.js";
import { expectProgramType, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { attachToPerfEvent, type PerfAttachMethod } from "./perf-link.js";

/** Options of `attachTracepoint`. */
export interface TracepointOptions {
  /** The category (subsystem), e.g. `"syscalls"`, `"sched"`. */
  category: string;
  /** The tracepoint name, e.g. `"sys_enter_openat"`. */
  name: string;
  /** A value the program reads with bpf_get_attach_cookie (Linux 5.15). */
  cookie?: bigint;
  /** `"auto"` (default): a bpf_link when the kernel has one, else the ioctl. */
  method?: PerfAttachMethod | "auto";
}

const KEYS = ["category", "name", "cookie", "method"] as const;

/**
 * Attach a tracepoint program. The program runs on every CPU for every process. Min kernel
 * 4.7 (link and cookie 5.15). Throws TypeError for bad names, TsbpfError when the tracepoint
 * does not exist, SyscallError/BpfError from the kernel.
 */
export function attachTracepoint(program: AttachProgram<"tracepoint">, options: TracepointOptions): Link {
  checkOptions("attachTracepoint", options, KEYS);
  expectProgramType(program, "tracepoint", "attachTracepoint");
  const progFd = programFd(program, "attachTracepoint: program");
  const id = tracepointId(options.category, options.name);
  const label = `tracepoint ${options.category}:${options.name} ${programLabel(program)}`;
  // pid -1 with cpu 0: one event whose program runs on all CPUs (tracepoint programs hang off the trace event).
  const event = perfEventOpen({ type: PERF_TYPE.tracepoint, config: BigInt(id), samplePeriod: 1n, wakeupEvents: 1 }, -1, 0, label);
  return attachToPerfEvent(progFd, event, {
    cookie: options.cookie,
    method: options.method,
    label,
    facts: { tracepoint: `${options.category}:${options.name}`, tracepointId: id },
  });
}
