/**
 * Reading a program's BPF streams (Linux 6.17+): what it wrote with the `bpf_stream_vprintk`
 * kfunc (`bpf_stream_printk` in newer libbpf headers) to stdout, and what the kernel reported
 * on its stderr. Each program has its own streams, so unlike trace_pipe nothing is shared with
 * other programs or readers.
 */
import { BpfError, NotSupportedError } from "../errors.js";
import { NativeMemory } from "../sys/libc.js";
import { BPF_STREAM, progStreamRead } from "../sys/prog-stream.js";

/** A program's stream: `"stdout"` (BPF_STREAM_STDOUT) or `"stderr"` (BPF_STREAM_STDERR). */
export type BpfStreamName = keyof typeof BPF_STREAM;

/** Something with a program's fd: a `Program`, or an fd number. */
export type ProgramFdSource = number | { readonly fd: number };

const EINVAL = 22;
const EBADF = 9;
let supported: boolean | undefined;

/**
 * Whether this kernel has BPF_PROG_STREAM_READ_BY_FD (Linux 6.17), probed once: the command
 * with fd -1 answers EBADF where it exists and EINVAL where the kernel does not know it.
 */
export function bpfStreamsSupported(): boolean {
  if (supported === undefined) {
    const r = progStreamRead(0xffffffff, BPF_STREAM.stdout, new NativeMemory(8));
    supported = r !== -EINVAL;
    if (r !== -EBADF && r !== -EINVAL && r < 0) supported = true; // another refusal still means the command exists
  }
  return supported;
}

function fdOf(p: ProgramFdSource): number {
  const fd = typeof p === "number" ? p : p.fd;
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`readBpfStream: invalid program fd ${fd}`);
  return fd;
}

function streamId(stream: BpfStreamName): number {
  const id = BPF_STREAM[stream];
  if (id === undefined) throw new TypeError(`BPF stream must be "stdout" or "stderr", not ${JSON.stringify(stream)}`);
  return id;
}

/**
 * Read (and consume) everything pending on a program's stream, as text. Returns "" when
 * nothing is pending. Throws NotSupportedError on kernels before 6.17, BpfError otherwise.
 */
export function readBpfStream(program: ProgramFdSource, stream: BpfStreamName = "stdout", options: { chunkSize?: number } = {}): string {
  const fd = fdOf(program);
  const id = streamId(stream);
  const chunk = options.chunkSize ?? 64 * 1024;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 1 << 24) throw new RangeError("readBpfStream: chunkSize must be between 1 and 16 MiB");
  const buffer = new NativeMemory(chunk);
  const parts: Buffer[] = [];
  for (;;) {
    const n = progStreamRead(fd, id, buffer);
    if (n < 0) {
      if (-n === EINVAL && !bpfStreamsSupported()) throw new NotSupportedError("BPF program streams (BPF_PROG_STREAM_READ_BY_FD)", { minKernel: "6.17" });
      throw new BpfError("BPF_PROG_STREAM_READ_BY_FD", -n, { context: `program fd ${fd}: read ${stream}` });
    }
    if (n === 0) break;
    parts.push(Buffer.from(buffer.bytes.subarray(0, n)));
    if (n < chunk) break;
  }
  return Buffer.concat(parts).toString("utf8");
}

/** Options of `watchBpfStream`. */
export interface BpfStreamWatchOptions {
  stream?: BpfStreamName;
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** How often to look for new text when nothing is pending, in ms (the kernel offers no wakeup). Default 100. */
  intervalMs?: number;
}

/**
 * Follow a program's stream: yields each line as the program writes it. The kernel has no
 * readiness notification for streams, so this polls every `intervalMs` from a timer (never
 * blocking the event loop). Ends when `signal` aborts or the consumer stops.
 */
export async function* watchBpfStream(program: ProgramFdSource, options: BpfStreamWatchOptions = {}): AsyncGenerator<string, void, undefined> {
  const { signal } = options;
  const interval = options.intervalMs ?? 100;
  if (!(interval > 0)) throw new RangeError("watchBpfStream: intervalMs must be positive");
  let partial = "";
  while (!signal?.aborted) {
    const text = readBpfStream(program, options.stream ?? "stdout");
    if (text.length > 0) {
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) {
        yield l;
        if (signal?.aborted) return;
      }
      continue;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, interval);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
