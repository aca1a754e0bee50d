/**
 * kprobes and kretprobes: attach a kprobe program to a kernel function, through the kprobe
 * PMU (perf_event_open, Linux 4.17) or the tracefs `kprobe_events` fallback. A syscall given
 * as `sys_xxx` or `xxx` is retried with the architecture's prefix (`__x64_sys_xxx`).
 */
import { readFileSync } from "node:fs";
import { NotSupportedError, SyscallError, TsbpfError } from "../errors.js";
import { hasPmu, PERF_TYPE, perfEventOpen, pmuRetprobeBit, pmuType } from "../sys/perf-event.js";
import { NativeMemory } from "../sys/libc.js";
import { checkOptions } from "../errors.js";
import { expectProgramType, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { attachToPerfEvent, type PerfAttachMethod } from "./perf-link.js";
import { createTracefsProbe, kprobeEventLine, probeEventName, probeEventsFile } from "./tracefs-probe.js";

/** Options of `attachKprobe`. */
export interface KprobeOptions {
  /** The kernel function (symbol), e.g. `"do_unlinkat"`; or a syscall name with `syscall: true`. */
  symbol: string;
  /** Byte offset into the function. Default 0. */
  offset?: number;
  /** A kretprobe: run when the function returns. Default false. */
  retprobe?: boolean;
  /** `symbol` names a syscall (`"openat"`): the architecture's wrapper is probed. Default false. */
  syscall?: boolean;
  /** kretprobe instances that may be active at once (tracefs only). */
  maxActive?: number;
  /** A value for bpf_get_attach_cookie (Linux 5.15). */
  cookie?: bigint;
  /** `"auto"` (default), `"link"` or `"ioctl"`. */
  method?: PerfAttachMethod | "auto";
}

const KEYS = ["symbol", "offset", "retprobe", "syscall", "maxActive", "cookie", "method"] as const;

/** The message this kernel's lack of kprobes gives. */
export const KPROBES_MISSING = "kprobes are not available on this kernel (CONFIG_KPROBES)";

/** The syscall wrapper prefix of an architecture (`"x64"` → `"__x64_"`). Pure. */
export function syscallPrefix(arch: string = process.arch): string {
  switch (arch) {
    case "x64":
      return "__x64_";
    case "arm64":
      return "__arm64_";
    case "s390x":
      return "__s390x_";
    case "riscv64":
      return "__riscv_";
    case "ia32":
      return "__ia32_";
    default:
      return "";
  }
}

/**
 * The symbols to try for a probe, in order (pure): a syscall `openat` or `sys_openat` becomes
 * `__x64_sys_openat`, then `sys_openat` (kernels before 4.17 had no wrapper).
 */
export function kprobeCandidates(symbol: string, syscall: boolean, arch: string = process.arch): string[] {
  if (!syscall) return [symbol];
  const base = symbol.startsWith("sys_") ? symbol : `sys_${symbol}`;
  const prefix = syscallPrefix(arch);
  return prefix ? [`${prefix}${base}`, base] : [base];
}

/** Whether the kernel can attach kprobes at all: the kprobe PMU or tracefs kprobe_events. */
export function kprobesAvailable(): boolean {
  return hasPmu("kprobe") || probeEventsFile("kprobe") !== undefined;
}

/**
 * Attach a kprobe or kretprobe program. Min kernel 4.1 (PMU 4.17, cookie 5.15). Throws
 * NotSupportedError ("kprobes are not available on this kernel (CONFIG_KPROBES)") when the
 * kernel has neither the kprobe PMU nor kprobe_events; TypeError for bad options;
 * SyscallError (ENOENT: no such function) from the kernel.
 */
export function attachKprobe(program: AttachProgram<"kprobe">, options: KprobeOptions): Link {
  checkOptions("attachKprobe", options, KEYS);
  if (typeof options.symbol !== "string" || !/^[A-Za-z0-9_.]+$/.test(options.symbol)) {
    throw new TypeError("attachKprobe: symbol must be a kernel function name");
  }
  const offset = options.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new TypeError("attachKprobe: offset must be a non-negative integer");
  expectProgramType(program, "kprobe", "attachKprobe");
  const progFd = programFd(program, "attachKprobe: program");
  const retprobe = options.retprobe ?? false;
  const kind = retprobe ? "kretprobe" : "kprobe";
  if (!kprobesAvailable()) throw new NotSupportedError("kprobes", { minKernel: "4.1", detail: KPROBES_MISSING });
  const candidates = kprobeCandidates(options.symbol, options.syscall ?? false);
  let lastError: unknown;
  for (const symbol of candidates) {
    const label = `${kind} ${symbol}${offset ? `+${offset}` : ""} ${programLabel(program)}`;
    try {
      if (hasPmu("kprobe")) {
        const name = new TextEncoder().encode(symbol);
        const mem = new NativeMemory(name.length + 1);
        mem.bytes.set(name);
        const config = retprobe ? 1n << BigInt(pmuRetprobeBit("kprobe")) : 0n;
        const event = perfEventOpen({ type: pmuType("kprobe"), config, config1: BigInt(mem.address), config2: BigInt(offset) }, -1, 0, label);
        return attachToPerfEvent(progFd, event, { cookie: options.cookie, method: options.method, label, facts: { symbol, offset, retprobe } });
      }
      const ev = probeEventName("kprobe", symbol);
      const probe = createTracefsProbe("kprobe", ev, kprobeEventLine(ev, symbol, offset, retprobe, options.maxActive ?? 0));
      const event = perfEventOpen({ type: PERF_TYPE.tracepoint, config: BigInt(probe.id), samplePeriod: 1n, wakeupEvents: 1 }, -1, 0, label);
      return attachToPerfEvent(progFd, event, { cookie: options.cookie, method: options.method, label, facts: { symbol, offset, retprobe, tracefsEvent: `tsbpf/${ev}` }, cleanup: probe.remove });
    } catch (e) {
      lastError = e;
      const missing = (e instanceof SyscallError && e.code === "ENOENT") || (e instanceof TsbpfError && !(e instanceof SyscallError));
      if (!missing) throw e;
    }
  }
  throw lastError;
}

/** Whether `symbol` is a function in /proc/kallsyms (needs root to see addresses; names are visible anyway). */
export function kernelHasSymbol(symbol: string): boolean {
  try {
    return new RegExp(`^[0-9a-f]+ [tTwW] ${symbol.replace(/[^A-Za-z0-9_.]/g, "")}(\\s|$)`, "m").test(readFileSync("/proc/kallsyms", "utf8"));
  } catch {
    return false;
  }
}
