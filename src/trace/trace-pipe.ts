/**
 * Reading `bpf_printk` output: tracefs' `trace_pipe` as an async iterator of parsed lines,
 * filtered by pid, task name, CPU or text. The file is opened non-blocking and watched by the event loop's own epoll (FdWatch), so reading never blocks the event loop
 * nor holds a thread. trace_pipe is one consuming reader for the whole machine: what one reader
 * takes, another does not see.
 */
import { closeSync, constants, existsSync, openSync, readSync } from "node:fs";
import { ClosedError, NotSupportedError, SyscallError } from "../errors.js";
import { FdWatch, UV_READABLE } from "../sys/fd-watch.js";

/** One line of trace_pipe: `<task>-<pid> [<cpu>] <flags> <timestamp>: <event>: <message>`. */
export interface TraceLine {
  /** The task name (`comm`), as tracefs prints it (`<...>` when unknown). */
  readonly task: string;
  readonly pid: number;
  readonly cpu: number;
  /** The irq/preempt flags column (`b..11`), when the trace has it. */
  readonly flags?: string;
  /** Seconds since boot, as printed (`3116.389532`). */
  readonly timestamp: number;
  /** The event: `bpf_trace_printk` for bpf_printk. */
  readonly event: string;
  /** What the program printed. */
  readonly message: string;
  /** The whole line. */
  readonly raw: string;
}

/** Which lines a reader keeps. Every given filter must match. */
export interface TraceFilter {
  /** Only lines of this pid (the task that was running the program: the test-run caller, the traced process…). */
  pid?: number;
  /** Only lines whose task name is this. */
  task?: string;
  cpu?: number;
  /** Only lines whose message contains this string, or matches this expression. */
  text?: string | RegExp;
  /** Only this event (default: any; bpf_printk writes `bpf_trace_printk`). */
  event?: string;
}

/** Options of `readTracePipe`. */
export interface TracePipeOptions extends TraceFilter {
  /** Ends the iteration (the iterator returns; no error). */
  signal?: AbortSignal;
  /** The trace_pipe file. Default: /sys/kernel/tracing/trace_pipe, else /sys/kernel/debug/tracing/trace_pipe. */
  path?: string;
}

const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:(\S{4,5})\s+)?(\d+\.\d+):\s+([^:\s]+):\s?(.*)$/;

/** Parse one trace_pipe line; undefined for a line of another shape (e.g. a lost-events note). */
export function parseTraceLine(raw: string): TraceLine | undefined {
  const m = LINE.exec(raw);
  if (!m) return undefined;
  return {
    task: m[1],
    pid: Number(m[2]),
    cpu: Number(m[3]),
    ...(m[4] !== undefined ? { flags: m[4] } : {}),
    timestamp: Number(m[5]),
    event: m[6],
    message: m[7],
    raw,
  };
}

/** Whether `line` passes `filter`. */
export function matchesTraceFilter(line: TraceLine, filter: TraceFilter): boolean {
  if (filter.pid !== undefined && line.pid !== filter.pid) return false;
  if (filter.task !== undefined && line.task !== filter.task) return false;
  if (filter.cpu !== undefined && line.cpu !== filter.cpu) return false;
  if (filter.event !== undefined && line.event !== filter.event) return false;
  if (filter.text !== undefined) {
    if (typeof filter.text === "string" ? !line.message.includes(filter.text) : !filter.text.test(line.message)) return false;
  }
  return true;
}

/** The trace_pipe path of this machine, or undefined when tracefs is not mounted. */
export function tracePipePath(): string | undefined {
  for (const p of ["/sys/kernel/tracing/trace_pipe", "/sys/kernel/debug/tracing/trace_pipe"]) if (existsSync(p)) return p;
  return undefined;
}

const FILTER_KEYS = new Set(["pid", "task", "cpu", "text", "event", "signal", "path"]);
const CHUNK = 64 * 1024;
/** A partial line longer than this is delivered as it is (trace lines are short; this bounds memory). */
const MAX_LINE = 64 * 1024;

/**
 * Read `bpf_printk` (and any other trace event) lines from trace_pipe as they come, keeping
 * those that pass the filter. Ends when `signal` aborts or the consumer stops iterating; the
 * file is closed either way. Throws NotSupportedError when tracefs is not mounted,
 * SyscallError when trace_pipe cannot be opened (EBUSY: another reader holds it on old kernels;
 * EACCES/EPERM: needs root).
 */
export async function* readTracePipe(options: TracePipeOptions = {}): AsyncGenerator<TraceLine, void, undefined> {
  for (const k of Object.keys(options)) if (!FILTER_KEYS.has(k)) throw new TypeError(`readTracePipe: unknown option ${JSON.stringify(k)} (known: ${[...FILTER_KEYS].join(", ")})`);
  const path = options.path ?? tracePipePath();
  if (!path) throw new NotSupportedError("tracefs (trace_pipe)", { minKernel: "4.1", detail: "mount it: mount -t tracefs nodev /sys/kernel/tracing" });
  const { signal } = options;
  if (signal?.aborted) return;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "EIO";
    const n = -((e as NodeJS.ErrnoException).errno ?? -5);
    throw new SyscallError("open", "open", n, { context: `trace pipe ${path}`, hint: code === "EACCES" || code === "EPERM" ? "reading trace_pipe needs root" : undefined, cause: e });
  }
  const watch = new FdWatch([fd], UV_READABLE, `trace pipe ${path}`, true);
  const onAbort = () => watch.close(); // ends a wait in flight
  signal?.addEventListener("abort", onAbort, { once: true });
  const buf = Buffer.allocUnsafe(CHUNK);
  let partial = "";
  let pendingBytes = 0; // bytes a wait's readiness check already read into buf
  try {
    for (;;) {
      if (signal?.aborted) return;
      // A non-blocking read: -1 when the pipe is empty (EAGAIN).
      const tryRead = (): number => {
        try {
          return readSync(fd, buf, 0, CHUNK, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
          return -1;
        }
      };
      let n = pendingBytes > 0 ? pendingBytes : tryRead();
      pendingBytes = 0;
      if (n > 0) {
        const text = partial + buf.toString("utf8", 0, n);
        const lines = text.split("\n");
        partial = lines.pop() ?? "";
        if (partial.length > MAX_LINE) {
          lines.push(partial);
          partial = "";
        }
        for (const raw of lines) {
          const line = parseTraceLine(raw);
          if (line && matchesTraceFilter(line, options)) yield line;
          if (signal?.aborted) return;
        }
        // Let timers and I/O of the process run between two chunks of a busy pipe.
        await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      try {
        // The check reads: what it gets is handled on the next turn of the loop above.
        let got = -1;
        const end = await watch.wait({ ready: () => (got = tryRead()) > 0, deadline: Infinity });
        if (end === "closed") return;
        if (got > 0) {
          pendingBytes = got;
          continue;
        }
      } catch (e) {
        if (signal?.aborted || e instanceof ClosedError) return;
        throw e;
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    watch.close();
    closeSync(fd);
  }
}
