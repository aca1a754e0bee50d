/**
 * The Link behind every perf-event based attach (tracepoint, kprobe, uprobe, perf_event):
 * a perf event fd plus either a bpf_link of type perf_event (BPF_LINK_CREATE of
 * BPF_PERF_EVENT, Linux 5.15, which also carries a BPF cookie) or, on older kernels, the
 * program set on the event with PERF_EVENT_IOC_SET_BPF.
 */
import { BpfError, NotSupportedError, SyscallError } from "../errors.js";
import { probeLinkKind } from "../features/attach.js";
import { ATTACH_TYPES } from "../spec/program-type.js";
import type { Fd } from "../sys/fd.js";
import { linkCreate } from "../sys/link-attr.js";
import { PERF_EVENT_IOC, perfEventIoctl } from "../sys/perf-event.js";
import { bpfLinkInfo, LinkBase, linkUpdateProgram, type AttachProgram, type LinkInfo } from "./link.js";

/** How a perf event got its program. */
export type PerfAttachMethod = "link" | "ioctl";

/** A perf event with a program attached. Owns the event fd, the bpf_link fd, and a cleanup (tracefs probe removal). */
export class PerfEventLink extends LinkBase {
  readonly #event: Fd;
  readonly #link: Fd | undefined;
  readonly #label: string;
  readonly #cleanup: (() => void) | undefined;
  readonly #facts: Record<string, unknown>;

  constructor(event: Fd, link: Fd | undefined, label: string, facts: Record<string, unknown>, cleanup?: () => void) {
    super();
    this.#event = event;
    this.#link = link;
    this.#label = label;
    this.#facts = facts;
    this.#cleanup = cleanup;
  }

  get type(): string {
    return this.#link ? "perf_event" : "perf_event_ioctl";
  }
  override get fd(): Fd | undefined {
    return this.#link;
  }
  override get id(): number | undefined {
    if (!this.#link || this.closed) return undefined;
    return bpfLinkInfo(this.#link, this.#label).id;
  }
  /** The perf event fd (owned by this Link). */
  get eventFd(): Fd {
    return this.#event;
  }
  describe(): string {
    return this.#label;
  }
  override update(program: AttachProgram, options?: { expected?: AttachProgram }): void {
    this.checkOpen();
    if (!this.#link) super.update(program, options);
    linkUpdateProgram(this.#link!, this.#label, program, options);
  }
  override detach(): void {
    this.checkOpen();
    // perf_event links have no detach of their own: disable the event instead (no more runs).
    perfEventIoctl(this.#event, PERF_EVENT_IOC.DISABLE, 0, `${this.#label}: detach`);
  }
  info(): LinkInfo {
    this.checkOpen();
    if (this.#link) return { ...bpfLinkInfo(this.#link, this.#label), ...this.#facts };
    return { type: "perf_event_ioctl", ...this.#facts };
  }
  protected release(): void {
    try {
      this.#link?.close();
      this.#event.close();
    } finally {
      this.#cleanup?.();
    }
  }
}

/**
 * Give `event` the program: a perf_event bpf_link when the kernel has them, else
 * PERF_EVENT_IOC_SET_BPF + ENABLE. A cookie needs the link (5.15): without it, throws
 * NotSupportedError. Takes ownership of `event` (closed on failure too).
 */
export function attachToPerfEvent(
  progFd: number,
  event: Fd,
  options: { cookie?: bigint; method?: PerfAttachMethod | "auto"; label: string; facts: Record<string, unknown>; cleanup?: () => void },
): PerfEventLink {
  const method = options.method ?? "auto";
  const cookie = options.cookie ?? 0n;
  try {
    // A link when the kernel has perf_event links (probed once: 5.15), else the ioctls.
    const links = probeLinkKind("perf_event");
    if (method === "link" || (method === "auto" && links.status !== "unsupported")) {
      const link = linkCreate(
        { progFd, target: event.value, attachType: ATTACH_TYPES.perf_event, flags: 0, extra: { kind: "perf_event", cookie } },
        `${options.label}: attach`,
      );
      return new PerfEventLink(event, link, options.label, options.facts, options.cleanup);
    }
    if (cookie !== 0n) throw new NotSupportedError("BPF cookies on perf events", { minKernel: "5.15", detail: "they need a perf_event link", refused: links.status === "refused" });
    try {
      perfEventIoctl(event, PERF_EVENT_IOC.SET_BPF, progFd, `${options.label}: attach`);
    } catch (e) {
      if (e instanceof SyscallError && e.code === "EEXIST") {
        throw new SyscallError(e.syscall, e.command, e.errno, { context: `${options.label}: attach`, hint: "this program is attached to this event already" });
      }
      throw e;
    }
    perfEventIoctl(event, PERF_EVENT_IOC.ENABLE, 0, `${options.label}: enable`);
    return new PerfEventLink(event, undefined, options.label, options.facts, options.cleanup);
  } catch (e) {
    event.close();
    try {
      options.cleanup?.();
    } catch {
      /* the original error matters more */
    }
    if (e instanceof SyscallError && e.code === "E2BIG") {
      // The kernel keeps at most BPF_TRACE_MAX_PROGS (64) programs per trace event, counting every process's.
      const hint = "this event (tracepoint, kprobe or uprobe) already runs 64 BPF programs, the kernel's limit per event (BPF_TRACE_MAX_PROGS): close some of its links first";
      throw e instanceof BpfError
        ? new BpfError(e.command, e.errno, { context: `${options.label}: attach`, hint, cause: e })
        : new SyscallError(e.syscall, e.command, e.errno, { context: `${options.label}: attach`, hint, cause: e });
    }
    throw e;
  }
}
