/**
 * perf_event_open(2) for attaching BPF programs: the `struct perf_event_attr` layout, the
 * ioctls that enable an event and give it a BPF program, tracepoint ids from tracefs, and the
 * dynamic PMUs (`uprobe`, `kprobe`) with their retprobe bit.
 */
import { existsSync, readFileSync } from "node:fs";
import { NotSupportedError, permissionHint, SyscallError, TsbpfError } from "../errors.js";
import { Fd } from "./fd.js";
import { errno, NativeMemory, SYS, syscall3, syscall5 } from "./libc.js";

/** `PERF_TYPE_*`: the fixed event types. Dynamic PMUs (uprobe, kprobe) have their own number, see `pmuType`. */
export const PERF_TYPE = {
  hardware: 0,
  software: 1,
  tracepoint: 2,
  hw_cache: 3,
  raw: 4,
  breakpoint: 5,
} as const;

/** `PERF_COUNT_HW_*`. */
export const PERF_COUNT_HW = {
  cpu_cycles: 0,
  instructions: 1,
  cache_references: 2,
  cache_misses: 3,
  branch_instructions: 4,
  branch_misses: 5,
  bus_cycles: 6,
  stalled_cycles_frontend: 7,
  stalled_cycles_backend: 8,
  ref_cpu_cycles: 9,
} as const;

/** `PERF_COUNT_SW_*`. */
export const PERF_COUNT_SW = {
  cpu_clock: 0,
  task_clock: 1,
  page_faults: 2,
  context_switches: 3,
  cpu_migrations: 4,
  page_faults_min: 5,
  page_faults_maj: 6,
  alignment_faults: 7,
  emulation_faults: 8,
  dummy: 9,
  bpf_output: 10,
  cgroup_switches: 11,
} as const;

/** Size of `struct perf_event_attr` as tsbpf writes it (`PERF_ATTR_SIZE_VER8`, Linux 6.3+; older kernels accept a larger size if the tail is zero). */
export const PERF_ATTR_SIZE = 136;

/** `PERF_SAMPLE_RAW`, used by perf event arrays. */
export const PERF_SAMPLE_RAW = 1 << 10;

/** The fields of `struct perf_event_attr` tsbpf sets. Omitted fields are zero. */
export interface PerfEventAttr {
  type: number;
  config?: bigint;
  /** sample_period, or sample_freq when `freq` is set. */
  samplePeriod?: bigint;
  freq?: boolean;
  sampleType?: bigint;
  /** Create the event disabled (enable with PERF_EVENT_IOC_ENABLE). */
  disabled?: boolean;
  inherit?: boolean;
  excludeKernel?: boolean;
  excludeUser?: boolean;
  excludeHv?: boolean;
  /** wakeup_events (or wakeup_watermark with `watermark`). */
  wakeupEvents?: number;
  watermark?: boolean;
  /** config1: kprobe_func / uprobe_path pointer, or bp_addr. */
  config1?: bigint;
  /** config2: probe offset (or kprobe address), or bp_len. */
  config2?: bigint;
  config3?: bigint;
}

/** Write `attr` as `struct perf_event_attr` into `out` (at least PERF_ATTR_SIZE bytes). Pure. */
export function encodePerfEventAttr(attr: PerfEventAttr, out: DataView): void {
  for (let i = 0; i < PERF_ATTR_SIZE; i++) out.setUint8(i, 0);
  out.setUint32(0, attr.type >>> 0, true);
  out.setUint32(4, PERF_ATTR_SIZE, true);
  out.setBigUint64(8, BigInt.asUintN(64, attr.config ?? 0n), true);
  out.setBigUint64(16, attr.samplePeriod ?? 0n, true);
  out.setBigUint64(24, attr.sampleType ?? 0n, true);
  let flags = 0n;
  if (attr.disabled) flags |= 1n << 0n;
  if (attr.inherit) flags |= 1n << 1n;
  if (attr.excludeUser) flags |= 1n << 4n;
  if (attr.excludeKernel) flags |= 1n << 5n;
  if (attr.excludeHv) flags |= 1n << 6n;
  if (attr.freq) flags |= 1n << 10n;
  if (attr.watermark) flags |= 1n << 14n;
  out.setBigUint64(40, flags, true);
  out.setUint32(48, attr.wakeupEvents ?? 0, true);
  out.setBigUint64(56, BigInt.asUintN(64, attr.config1 ?? 0n), true);
  out.setBigUint64(64, BigInt.asUintN(64, attr.config2 ?? 0n), true);
  out.setBigUint64(128, BigInt.asUintN(64, attr.config3 ?? 0n), true);
}

const PERF_FLAG_FD_CLOEXEC = 8;

/**
 * perf_event_open(2): open an event for process `pid` (-1: every process; 0: this one) on
 * `cpu` (-1: any CPU). Throws SyscallError naming the event in `what`. The caller closes the Fd.
 */
export function perfEventOpen(attr: PerfEventAttr, pid: number, cpu: number, what: string, groupFd = -1): Fd {
  const mem = new NativeMemory(PERF_ATTR_SIZE);
  encodePerfEventAttr(attr, mem.view);
  const fd = syscall5(SYS.perf_event_open, mem.address, pid, cpu, groupFd, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    const e = errno();
    const hint = e === 2 ? "no such event, probe target or symbol" : e === 13 || e === 1 ? permissionHint("root or CAP_PERFMON") : undefined;
    throw new SyscallError("perf_event_open", "perf_event_open", e, { context: `${what}: open perf event`, hint });
  }
  return new Fd(fd, `perf event ${what}`);
}

/** Perf event ioctl requests. */
export const PERF_EVENT_IOC = {
  ENABLE: 0x2400,
  DISABLE: 0x2401,
  /** `_IOW('$', 8, __u32)`: give the event a BPF program (the program fd is the argument). */
  SET_BPF: 0x40042408,
} as const;

const IOC_NAMES: Record<number, string> = {
  [PERF_EVENT_IOC.ENABLE]: "PERF_EVENT_IOC_ENABLE",
  [PERF_EVENT_IOC.DISABLE]: "PERF_EVENT_IOC_DISABLE",
  [PERF_EVENT_IOC.SET_BPF]: "PERF_EVENT_IOC_SET_BPF",
};

/** ioctl(2) on a perf event fd. Throws SyscallError. */
export function perfEventIoctl(fd: Fd, request: number, arg: number, what: string): void {
  if (syscall3(SYS.ioctl, fd.value, request, arg) < 0) {
    throw new SyscallError("ioctl", IOC_NAMES[request] ?? `ioctl 0x${request.toString(16)}`, errno(), { context: what });
  }
}

// --- tracefs -------------------------------------------------------------------------------

const TRACEFS_CANDIDATES = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/** The tracefs mount point, or throws NotSupportedError when tracefs is not mounted. */
export function tracefsRoot(): string {
  for (const p of TRACEFS_CANDIDATES) if (existsSync(`${p}/events`)) return p;
  throw new NotSupportedError("tracefs", { minKernel: "4.1", detail: "mount it: mount -t tracefs tracefs /sys/kernel/tracing" });
}

const TRACE_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * The id of tracepoint `category:name` from tracefs (`events/<category>/<name>/id`). Throws
 * TypeError for a name with characters a tracepoint cannot have, and a TsbpfError saying
 * which tracepoint is missing.
 */
export function tracepointId(category: string, name: string): number {
  if (typeof category !== "string" || typeof name !== "string" || !TRACE_NAME.test(category) || !TRACE_NAME.test(name)) {
    throw new TypeError(`tracepoint ${String(category)}:${String(name)}: category and name may only hold letters, digits, "_", "-" and "."`);
  }
  // They are path components under tracefs: "." and ".." would climb out of events/<category>.
  if (/^\.{1,2}$/.test(category) || /^\.{1,2}$/.test(name)) {
    throw new TypeError(`tracepoint ${category}:${name}: "." and ".." are not tracepoint names (they would name a directory above the tracepoint)`);
  }
  const path = `${tracefsRoot()}/events/${category}/${name}/id`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new TsbpfError(`tracepoint ${category}:${name}: not found (${path} is missing; list them in ${tracefsRoot()}/available_events)`, { cause: e });
  }
  const id = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(id) || id < 0) throw new TsbpfError(`tracepoint ${category}:${name}: ${path} holds no id`);
  return id;
}

// --- dynamic PMUs --------------------------------------------------------------------------

const PMU_ROOT = "/sys/bus/event_source/devices";

/** Path of a PMU's `type` file (pure; exported for tests). */
export function pmuTypePath(pmu: string): string {
  return `${PMU_ROOT}/${pmu}/type`;
}

/** Path of a PMU's `format/retprobe` file (pure; exported for tests). */
export function pmuRetprobePath(pmu: string): string {
  return `${PMU_ROOT}/${pmu}/format/retprobe`;
}

/** Whether the PMU `pmu` ("uprobe", "kprobe") exists on this kernel. */
export function hasPmu(pmu: string): boolean {
  return existsSync(pmuTypePath(pmu));
}

/**
 * The perf event type number of a dynamic PMU ("uprobe", "kprobe"), read from sysfs. Throws
 * NotSupportedError when the kernel has no such PMU.
 */
export function pmuType(pmu: string): number {
  let text: string;
  try {
    text = readFileSync(pmuTypePath(pmu), "utf8");
  } catch (e) {
    throw new NotSupportedError(`the ${pmu} PMU`, { minKernel: "4.17", detail: `${pmuTypePath(pmu)} is missing`, cause: e });
  }
  const n = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(n)) throw new TsbpfError(`${pmuTypePath(pmu)}: not a number: ${JSON.stringify(text)}`);
  return n;
}

/**
 * Parse a PMU format line such as `config:0` into the bit number. Pure; throws TsbpfError for
 * other shapes (the retprobe flag is always one bit of `config`).
 */
export function parseFormatBit(text: string): number {
  const m = /^config:(\d+)$/.exec(text.trim());
  if (!m) throw new TsbpfError(`unexpected PMU format ${JSON.stringify(text.trim())} (expected config:<bit>)`);
  const bit = Number(m[1]);
  if (bit > 63) throw new TsbpfError(`PMU format bit ${bit} is out of range`);
  return bit;
}

/** The `config` bit that makes a probe of `pmu` a return probe. Throws NotSupportedError without the PMU. */
export function pmuRetprobeBit(pmu: string): number {
  let text: string;
  try {
    text = readFileSync(pmuRetprobePath(pmu), "utf8");
  } catch (e) {
    throw new NotSupportedError(`return probes on the ${pmu} PMU`, { minKernel: "4.17", detail: `${pmuRetprobePath(pmu)} is missing`, cause: e });
  }
  return parseFormatBit(text);
}

/** The number of possible CPUs (`/sys/devices/system/cpu/possible`, e.g. "0-1"). */
export function possibleCpus(): number[] {
  return parseCpuList(readFileSync("/sys/devices/system/cpu/possible", "utf8"));
}

/** The online CPUs (`/sys/devices/system/cpu/online`). */
export function onlineCpus(): number[] {
  return parseCpuList(readFileSync("/sys/devices/system/cpu/online", "utf8"));
}

/** Parse a kernel CPU list ("0-3,5,7-8") into CPU numbers. Pure; throws TsbpfError on bad text. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new TsbpfError(`bad CPU list ${JSON.stringify(text.trim())}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 65536) throw new TsbpfError(`bad CPU range ${part}`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}
