/**
 * uprobes and uretprobes: attach a kprobe-type program to a function (or an offset) of a
 * user-space binary or shared library, through the uprobe PMU (perf_event_open, Linux 4.17)
 * or the tracefs `uprobe_events` fallback. Symbols resolve to file offsets in TypeScript.
 */
import { TsbpfError } from "../errors.js";
import { NativeMemory } from "../sys/libc.js";
import { hasPmu, PERF_TYPE, perfEventOpen, pmuRetprobeBit, pmuType } from "../sys/perf-event.js";
import { loadBinary, resolveBinaryPath, symbolFileOffset } from "./elf-symbols.js";
import { checkOptions } from "../errors.js";
import { expectProgramType, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { attachToPerfEvent, type PerfAttachMethod } from "./perf-link.js";
import { createTracefsProbe, probeEventName, probeEventsFile, uprobeEventLine } from "./tracefs-probe.js";

/** Options of `attachUprobe`. */
export interface UprobeOptions {
  /** The binary or library: a path, or a library file name (`"libc.so.6"`) looked up in the usual directories. */
  path: string;
  /** The function to probe (from .symtab or .dynsym). Exclusive with a bare `offset`. */
  symbol?: string;
  /** Byte offset: added to the symbol's file offset, or the file offset itself without a symbol. */
  offset?: number;
  /** A uretprobe: run when the function returns. Default false. */
  retprobe?: boolean;
  /** Only in this process (default -1: every process that maps the file). */
  pid?: number;
  /** File offset of a USDT semaphore (reference counter) the kernel increments while attached (Linux 4.20). */
  refCtrOffset?: number;
  /** A value for bpf_get_attach_cookie (Linux 5.15). */
  cookie?: bigint;
  /** `"auto"` (default), `"link"` or `"ioctl"`. */
  method?: PerfAttachMethod | "auto";
}

const KEYS = ["path", "symbol", "offset", "retprobe", "pid", "refCtrOffset", "cookie", "method"] as const;

/** Resolve path + symbol + offset to (absolute path, file offset). Pure apart from reading the file. */
export function resolveUprobeTarget(path: string, symbol: string | undefined, offset: number | undefined): { path: string; offset: number } {
  const abs = resolveBinaryPath(path);
  const off = offset ?? 0;
  if (!Number.isInteger(off) || off < 0) throw new TypeError("uprobe: offset must be a non-negative integer");
  if (symbol === undefined) {
    if (offset === undefined) throw new TypeError("uprobe: give a symbol or an offset");
    return { path: abs, offset: off };
  }
  return { path: abs, offset: symbolFileOffset(loadBinary(abs), symbol, `uprobe ${abs}`) + off };
}

/**
 * Attach a uprobe or uretprobe. Min kernel 4.17 with the PMU (tracefs 4.3; ref_ctr 4.20;
 * cookie 5.15). Throws TypeError for bad options, TsbpfError when the symbol is missing,
 * SyscallError/BpfError from the kernel.
 */
export function attachUprobe(program: AttachProgram<"kprobe">, options: UprobeOptions): Link {
  checkOptions("attachUprobe", options, KEYS);
  expectProgramType(program, "uprobe", "attachUprobe");
  const progFd = programFd(program, "attachUprobe: program");
  const target = resolveUprobeTarget(options.path, options.symbol, options.offset);
  const retprobe = options.retprobe ?? false;
  const pid = options.pid ?? -1;
  if (!Number.isInteger(pid) || pid < -1) throw new TypeError("attachUprobe: pid must be -1 or a process id");
  const refCtr = options.refCtrOffset ?? 0;
  if (!Number.isInteger(refCtr) || refCtr < 0) throw new TypeError("attachUprobe: refCtrOffset must be a non-negative integer");
  const where = `${target.path}:${options.symbol ?? ""}${options.symbol ? "+" : ""}0x${target.offset.toString(16)}`;
  const label = `${retprobe ? "uretprobe" : "uprobe"} ${where} ${programLabel(program)}`;
  const facts = { path: target.path, offset: target.offset, symbol: options.symbol, retprobe, pid };
  const cpu = pid === -1 ? 0 : -1;
  if (hasPmu("uprobe")) {
    const enc = new TextEncoder().encode(target.path);
    const mem = new NativeMemory(enc.length + 1);
    mem.bytes.set(enc);
    let config = BigInt(refCtr) << 32n;
    if (retprobe) config |= 1n << BigInt(pmuRetprobeBit("uprobe"));
    const event = perfEventOpen({ type: pmuType("uprobe"), config, config1: BigInt(mem.address), config2: BigInt(target.offset) }, pid, cpu, label);
    return attachToPerfEvent(progFd, event, { cookie: options.cookie, method: options.method, label, facts });
  }
  if (!probeEventsFile("uprobe")) throw new TsbpfError(`${label}: this kernel has neither the uprobe PMU nor tracefs uprobe_events (CONFIG_UPROBE_EVENTS)`);
  const name = probeEventName("uprobe", options.symbol ?? "off");
  const probe = createTracefsProbe("uprobe", name, uprobeEventLine(name, target.path, target.offset, retprobe, refCtr));
  let event;
  try {
    event = perfEventOpen({ type: PERF_TYPE.tracepoint, config: BigInt(probe.id), samplePeriod: 1n, wakeupEvents: 1 }, pid, cpu, label);
  } catch (e) {
    probe.remove();
    throw e;
  }
  return attachToPerfEvent(progFd, event, { cookie: options.cookie, method: options.method, label, facts: { ...facts, tracefsEvent: `tsbpf/${name}` }, cleanup: probe.remove });
}

