/**
 * perf_event programs on hardware or software events (cpu-clock sampling, cache misses …),
 * one perf event per CPU, each with the program: a Link that owns them all.
 */
import { NotSupportedError, SyscallError, TsbpfError } from "../errors.js";
import { onlineCpus, PERF_COUNT_HW, PERF_COUNT_SW, PERF_TYPE, perfEventOpen, type PerfEventAttr } from "../sys/perf-event.js";
import { checkOptions } from "../errors.js";
import { expectProgramType, LinkBase, programFd, programLabel, type AttachProgram, type Link, type LinkInfo } from "./link.js";
import { attachToPerfEvent, type PerfAttachMethod, type PerfEventLink } from "./perf-link.js";

/** Which event to sample. */
export type PerfEventSpec =
  | { type: "software"; name: keyof typeof PERF_COUNT_SW }
  | { type: "hardware"; name: keyof typeof PERF_COUNT_HW }
  | { type: number; config: bigint };

/** Options of `attachPerfEvent`. */
export interface PerfEventOptions {
  event: PerfEventSpec;
  /** Run the program every this many events (exclusive with sampleFrequency). */
  samplePeriod?: bigint | number;
  /** Run the program this many times per second (exclusive with samplePeriod). Default 1000. */
  sampleFrequency?: number;
  /** The CPUs to sample on. Default: every online CPU. */
  cpus?: readonly number[];
  /** Only this process (-1, the default: every process). */
  pid?: number;
  /** A value for bpf_get_attach_cookie (Linux 5.15). */
  cookie?: bigint;
  /** `"auto"` (default), `"link"` or `"ioctl"`. */
  method?: PerfAttachMethod | "auto";
}

const KEYS = ["event", "samplePeriod", "sampleFrequency", "cpus", "pid", "cookie", "method"] as const;

/** Several perf event links as one Link (one per CPU). */
class PerCpuLink extends LinkBase {
  readonly type = "perf_event_group";
  readonly #links: PerfEventLink[];
  readonly #label: string;
  constructor(links: PerfEventLink[], label: string) {
    super();
    this.#links = links;
    this.#label = label;
  }
  describe(): string {
    return this.#label;
  }
  override update(program: AttachProgram, options?: { expected?: AttachProgram }): void {
    this.checkOpen();
    for (const l of this.#links) l.update(program, options);
  }
  info(): LinkInfo {
    this.checkOpen();
    return { type: this.type, links: this.#links.map((l) => l.info()) };
  }
  protected release(): void {
    for (const l of this.#links) l.close();
  }
}

/**
 * Attach a perf_event program to an event on each CPU. Close detaches from all. Min kernel
 * 4.9. Throws TypeError for bad options, SyscallError (ENOENT: the machine has no such
 * hardware event, e.g. in a VM), BpfError.
 */
export function attachPerfEvent(program: AttachProgram<"perf_event">, options: PerfEventOptions): Link {
  checkOptions("attachPerfEvent", options, KEYS);
  expectProgramType(program, "perfEvent", "attachPerfEvent");
  const progFd = programFd(program, "attachPerfEvent: program");
  const ev = options.event;
  let attr: PerfEventAttr;
  if (ev && ev.type === "software") {
    if (!Object.hasOwn(PERF_COUNT_SW, ev.name)) throw new TypeError(`attachPerfEvent: unknown software event ${JSON.stringify(ev.name)}`);
    attr = { type: PERF_TYPE.software, config: BigInt(PERF_COUNT_SW[ev.name]) };
  } else if (ev && ev.type === "hardware") {
    if (!Object.hasOwn(PERF_COUNT_HW, ev.name)) throw new TypeError(`attachPerfEvent: unknown hardware event ${JSON.stringify(ev.name)}`);
    attr = { type: PERF_TYPE.hardware, config: BigInt(PERF_COUNT_HW[ev.name]) };
  } else if (ev && typeof ev.type === "number" && typeof (ev as { config?: unknown }).config === "bigint") {
    attr = { type: ev.type, config: (ev as { config: bigint }).config };
  } else {
    throw new TypeError("attachPerfEvent: event must be {type: \"software\"|\"hardware\", name} or {type: number, config: bigint}");
  }
  if (options.samplePeriod !== undefined && options.sampleFrequency !== undefined) throw new TypeError("attachPerfEvent: give samplePeriod or sampleFrequency, not both");
  if (options.samplePeriod !== undefined) {
    attr.samplePeriod = BigInt(options.samplePeriod);
  } else {
    const f = options.sampleFrequency ?? 1000;
    if (!Number.isInteger(f) || f <= 0) throw new TypeError("attachPerfEvent: sampleFrequency must be a positive integer");
    attr.samplePeriod = BigInt(f);
    attr.freq = true;
  }
  const cpus = options.cpus ?? onlineCpus();
  const pid = options.pid ?? -1;
  const name = "name" in ev ? ev.name : `type ${ev.type} config ${String((ev as { config: bigint }).config)}`;
  const label = `perf_event ${name} ${programLabel(program)}`;
  const links: PerfEventLink[] = [];
  try {
    for (const cpu of cpus) {
      let fd;
      try {
        fd = perfEventOpen(attr, pid, cpu, `${label} on cpu ${cpu}`);
      } catch (e) {
        // ENOENT for a hardware event: the machine has no CPU PMU (VMs often expose none).
        if (e instanceof SyscallError && e.code === "ENOENT" && (attr.type === PERF_TYPE.hardware || attr.type === PERF_TYPE.hw_cache)) {
          throw new NotSupportedError("hardware performance counters", { minKernel: "2.6.31", detail: "perf_event_open found no such hardware event: this machine exposes no CPU PMU (common in virtual machines)", cause: e });
        }
        throw e;
      }
      links.push(attachToPerfEvent(progFd, fd, { cookie: options.cookie, method: options.method, label: `${label} on cpu ${cpu}`, facts: { cpu } }));
    }
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  }
  if (links.length === 0) throw new TsbpfError(`${label}: no CPUs to attach to`);
  return new PerCpuLink(links, label);
}
