/**
 * BPF_PROG_TEST_RUN for one program: options, results, and a runner that keeps its attr and
 * its data/ctx buffers in native memory between calls, so a run in a loop allocates only its
 * result.
 */
import { Errno, BpfError, unknownOption } from "../errors.js";
import { NativeMemory } from "../sys/libc.js";
import { BPF_F_TEST_RUN_ON_CPU, TestRunAttr } from "../sys/prog-attr.js";

const { EINTR, ENOSPC, EINVAL, ENOTSUPP, EOPNOTSUPP } = Errno;

/** Options of `Program.run`. Every field is optional. */
export interface RunOptions {
  /** Packet or input data (`data_in`): an Ethernet frame for XDP/skb programs. */
  data?: Uint8Array;
  /**
   * Whether to return the data after the run, or how many bytes to make room for. Defaults to
   * true when `data` is given, with room for `data.length + 4096` bytes (a program may grow the
   * packet). Pass a `Uint8Array` to have the output copied into it (no allocation per run).
   * `false` or `0` asks for no data.
   */
  dataOut?: boolean | number | Uint8Array;
  /** Context in (`ctx_in`): e.g. a `struct xdp_md`, `struct __sk_buff`, or a syscall program's argument struct. */
  ctx?: Uint8Array;
  /**
   * Whether to return the context after the run (`ctx_out`), or how many bytes to make room
   * for (default: `ctx.length`). Defaults to false. Syscall programs always give their context
   * back (the kernel writes it over `ctx_in`), so leave this unset for them.
   */
  ctxOut?: boolean | number;
  /** Run the program this many times (the kernel reports the mean duration). 0 or unset runs once. Syscall programs reject it. */
  repeat?: number;
  /** `BPF_F_TEST_*` flags (see `TestRunFlags`). */
  flags?: number;
  /** Run on this CPU (sets BPF_F_TEST_RUN_ON_CPU). Linux 5.10; raw_tracepoint programs only. */
  cpu?: number;
  /** Frames per batch for XDP live frames mode (BPF_F_TEST_XDP_LIVE_FRAMES). Linux 5.18. */
  batchSize?: number;
}

/** What a test run gave back. */
export interface RunResult {
  /** The program's return value (u32: an XDP action, a TC verdict, a socket filter length…). */
  retval: number;
  /** Mean duration of one run in ns, as the kernel measured it (0 for program types it does not time). */
  durationNs: number;
  /** The data after the run, when asked for (a fresh copy, or a view into `dataOut` when it was a buffer). */
  data?: Uint8Array;
  /** The context after the run, when asked for (always for syscall programs given a ctx). */
  ctx?: Uint8Array;
}


/** `BPF_F_TEST_*` flags of BPF_PROG_TEST_RUN, by name. */
export const TestRunFlags = {
  /** BPF_F_TEST_RUN_ON_CPU: run on `cpu` (set for you when `cpu` is given). */
  runOnCpu: 1 << 0,
  /** BPF_F_TEST_XDP_LIVE_FRAMES: send XDP frames for real (XDP_TX/REDIRECT act). Linux 5.18. */
  xdpLiveFrames: 1 << 1,
  /** BPF_F_TEST_SKB_CHECKSUM_COMPLETE: give skb programs CHECKSUM_COMPLETE. Linux 6.6. */
  skbChecksumComplete: 1 << 2,
} as const;

const RUN_KEYS = new Set(["data", "dataOut", "ctx", "ctxOut", "repeat", "flags", "cpu", "batchSize"]);
const EXTRA_DATA_OUT = 4096;
const SYSCALL_PROG_TYPE = 31;

function u32(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`run: ${name} must be a u32, got ${String(value)}`);
  }
  return value;
}

function bytesOption(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`run: ${name} must be a Uint8Array`);
  return value;
}

/** Native memory that grows (never shrinks) to fit what is copied in. */
class Scratch {
  mem: NativeMemory | undefined;
  ensure(size: number): NativeMemory {
    if (this.mem === undefined || this.mem.length < size) {
      let n = 256;
      while (n < size) n *= 2;
      this.mem = new NativeMemory(n);
    }
    return this.mem;
  }
}

/** Runs one program with BPF_PROG_TEST_RUN, reusing its buffers. Not for use by two threads. */
export class TestRunner {
  readonly #attr = new TestRunAttr();
  readonly #dataIn = new Scratch();
  readonly #dataOut = new Scratch();
  readonly #ctxIn = new Scratch();
  readonly #ctxOut = new Scratch();
  readonly #progType: number;
  readonly #what: string;
  // The configuration of the last configure(): what the attr points at.
  #dataOutCap = 0;
  #dataOutMem: NativeMemory | undefined;
  #dataOutTarget: Uint8Array | undefined;
  #ctxInMem: NativeMemory | undefined;
  #ctxInSize = 0;
  #ctxOutCap = 0;
  #ctxOutMem: NativeMemory | undefined;
  // Views reused run after run while their memory and length stay the same (subarray and
  // .buffer are builtin calls that cost more than the copy of a small frame).
  #outView: Uint8Array | undefined;
  #outViewOf: NativeMemory | undefined;
  #targetView: Uint8Array | undefined;
  #targetViewOf: Uint8Array | undefined;

  constructor(progType: number, what: string) {
    this.#progType = progType;
    this.#what = what;
  }

  /** Run the program behind `progFd` once with `options`. Throws BpfError, TypeError, RangeError. */
  run(progFd: number, options?: RunOptions): RunResult {
    this.configure(progFd, options);
    this.call();
    return this.result();
  }

  /**
   * Check `options`, copy data and ctx into native memory, and point the attr at them, ready
   * for call(). Throws TypeError/RangeError for bad options.
   */
  configure(progFd: number, options?: RunOptions): void {
    let data: Uint8Array | undefined;
    let ctx: Uint8Array | undefined;
    let dataOutOpt: boolean | number | Uint8Array | undefined;
    let ctxOutOpt: boolean | number | undefined;
    let repeat = 0;
    let flags = 0;
    let cpu = 0;
    let cpuFlag = 0;
    let batchSize = 0;
    if (options !== undefined) {
      if (typeof options !== "object" || options === null) throw new TypeError("run: options must be an object");
      // Unknown keys first, then each option read by name.
      for (const key in options) {
        if (!RUN_KEYS.has(key)) throw unknownOption("run", key, RUN_KEYS);
      }
      const o = options;
      if (o.data !== undefined) data = bytesOption(o.data, "data");
      if (o.ctx !== undefined) ctx = bytesOption(o.ctx, "ctx");
      dataOutOpt = o.dataOut;
      ctxOutOpt = o.ctxOut;
      if (o.repeat !== undefined) repeat = u32(o.repeat, "repeat");
      if (o.flags !== undefined) flags = u32(o.flags, "flags");
      if (o.cpu !== undefined) {
        cpu = u32(o.cpu, "cpu");
        cpuFlag = BPF_F_TEST_RUN_ON_CPU;
      }
      if (o.batchSize !== undefined) batchSize = u32(o.batchSize, "batchSize");
      flags |= cpuFlag;
    }

    let dataIn = 0;
    let dataInSize = 0;
    if (data !== undefined && data.length > 0) {
      const m = this.#dataIn.ensure(data.length);
      m.bytes.set(data);
      dataIn = m.address;
      dataInSize = data.length;
    }
    let dataOut = 0;
    let dataOutCap = 0;
    let dataOutTarget: Uint8Array | undefined;
    let dataOutMem: NativeMemory | undefined;
    if (dataOutOpt === undefined ? data !== undefined : dataOutOpt !== false && dataOutOpt !== 0) {
      if (dataOutOpt instanceof Uint8Array) {
        if (dataOutOpt.length === 0) throw new RangeError("run: the dataOut buffer is empty");
        dataOutTarget = dataOutOpt;
        dataOutCap = dataOutOpt.length;
      } else if (typeof dataOutOpt === "number") {
        dataOutCap = u32(dataOutOpt, "dataOut");
      } else if (dataOutOpt === undefined || dataOutOpt === true) {
        dataOutCap = dataInSize + EXTRA_DATA_OUT;
      } else {
        throw new TypeError("run: dataOut must be a boolean, a byte count or a Uint8Array");
      }
      // Never 0 here: the kernel reads data_size_out 0 as "no limit" and would write past the buffer.
      dataOutMem = this.#dataOut.ensure(dataOutCap);
      dataOut = dataOutMem.address;
    }
    let ctxIn = 0;
    let ctxInSize = 0;
    let ctxInMem: NativeMemory | undefined;
    if (ctx !== undefined && ctx.length > 0) {
      ctxInMem = this.#ctxIn.ensure(ctx.length);
      ctxInMem.bytes.set(ctx);
      ctxIn = ctxInMem.address;
      ctxInSize = ctx.length;
    }
    let ctxOut = 0;
    let ctxOutCap = 0;
    let ctxOutMem: NativeMemory | undefined;
    if (ctxOutOpt !== undefined && ctxOutOpt !== false) {
      if (typeof ctxOutOpt === "number") ctxOutCap = u32(ctxOutOpt, "ctxOut");
      else if (ctxOutOpt === true) ctxOutCap = ctxInSize;
      else throw new TypeError("run: ctxOut must be a boolean or a byte count");
      if (ctxOutCap > 0) {
        ctxOutMem = this.#ctxOut.ensure(ctxOutCap);
        ctxOut = ctxOutMem.address;
      }
    }

    this.#attr.set(progFd, dataIn, dataInSize, dataOut, dataOutCap, ctxIn, ctxInSize, ctxOut, ctxOutCap, repeat, flags, cpu, batchSize);
    this.#dataOutCap = dataOutCap;
    this.#dataOutMem = dataOutMem;
    this.#dataOutTarget = dataOutTarget;
    this.#ctxInMem = ctxInMem;
    this.#ctxInSize = ctxInSize;
    this.#ctxOutCap = ctxOutCap;
    this.#ctxOutMem = ctxOutMem;
  }

  /** Run again with the configuration of the last configure(): no option parsing, no copying. */
  rerun(progFd: number): void {
    this.#attr.reset(progFd, this.#dataOutCap, this.#ctxOutCap);
    this.call();
  }

  /**
   * Call BPF_PROG_TEST_RUN with the configured attr. Throws BpfError. A repeated run is never
   * made again: signals that only report are deferred during it (so the program runs exactly
   * `repeat` times), and a stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) ends it with an EINTR
   * error that says the program ran an unknown number of times, at most `repeat`.
   */
  call(): void {
    const r = this.#attr.call();
    if (r < 0) throw this.#error(-r, this.#dataOutCap, this.#ctxOutCap);
  }

  /** The program's return value in the last run. */
  get retval(): number {
    return this.#attr.retval;
  }

  /** The mean duration of one run in the last call, in ns. */
  get durationNs(): number {
    return this.#attr.duration;
  }

  /**
   * The data out of the last run as a view of native memory (no copy): valid until the next
   * run. Undefined when no data out was asked for.
   */
  dataView(): Uint8Array | undefined {
    const mem = this.#dataOutMem;
    if (mem === undefined) return undefined;
    return this.#outBytes(mem, Math.min(this.#attr.dataSizeOut, this.#dataOutCap));
  }

  /** The first `n` bytes of `mem`, as the same view while `mem` and `n` stay the same (subarray allocates). */
  #outBytes(mem: NativeMemory, n: number): Uint8Array {
    let v = this.#outView;
    if (v === undefined || this.#outViewOf !== mem || v.length !== n) {
      v = this.#outView = n === mem.length ? mem.bytes : mem.bytes.subarray(0, n);
      this.#outViewOf = mem;
    }
    return v;
  }

  /** The last run's results as a fresh RunResult (copies of data and ctx). */
  result(): RunResult {
    const attr = this.#attr;
    let data: Uint8Array | undefined;
    const dataOutMem = this.#dataOutMem;
    if (dataOutMem !== undefined) {
      const n = Math.min(attr.dataSizeOut, this.#dataOutCap);
      const target = this.#dataOutTarget;
      if (target !== undefined) {
        target.set(this.#outBytes(dataOutMem, n));
        // A caller that passes the same dataOut buffer run after run gets the same view of it
        // when the length is unchanged: no allocation but the result object itself.
        let view = this.#targetView;
        if (view === undefined || this.#targetViewOf !== target || view.length !== n) {
          view = this.#targetView = n === target.length ? target : target.subarray(0, n);
          this.#targetViewOf = target;
        }
        data = view;
      } else {
        data = dataOutMem.bytes.slice(0, n);
      }
    }
    let ctx: Uint8Array | undefined;
    if (this.#ctxOutMem !== undefined) {
      ctx = this.#ctxOutMem.bytes.slice(0, Math.min(attr.ctxSizeOut, this.#ctxOutCap));
    } else if (this.#ctxInMem !== undefined && this.#progType === SYSCALL_PROG_TYPE) {
      // A syscall program's context is written back over ctx_in.
      ctx = this.#ctxInMem.bytes.slice(0, this.#ctxInSize);
    }
    // Each result is made whole by one literal (a property added later is a shape transition
    // per run), and without the keys it has no value for.
    const retval = attr.retval;
    const durationNs = attr.duration;
    if (ctx === undefined) return data === undefined ? { retval, durationNs } : { retval, durationNs, data };
    return data === undefined ? { retval, durationNs, ctx } : { retval, durationNs, data, ctx };
  }

  #error(code: number, dataOutCap: number, ctxOutCap: number): BpfError {
    const context = `${this.#what}: test run`;
    let hint: string | undefined;
    if (code === ENOSPC) {
      const needData = this.#attr.dataSizeOut;
      const needCtx = this.#attr.ctxSizeOut;
      hint = needData > dataOutCap
        ? `the output data needs ${needData} bytes but dataOut has room for ${dataOutCap}: pass dataOut: ${needData}`
        : `the output context needs ${needCtx} bytes but ctxOut has room for ${ctxOutCap}: pass ctxOut: ${needCtx}`;
    } else if (code === EINVAL) {
      hint = this.#progType === SYSCALL_PROG_TYPE
        ? "syscall programs take only ctx: no data, dataOut, ctxOut, repeat, flags or batchSize"
        : "check data size (XDP/skb need at least an Ethernet header), ctx layout, flags, cpu and batchSize for this program type";
    } else if (code === EINTR) {
      hint = "a stop signal (SIGINT, SIGTERM, SIGHUP or SIGQUIT), or other work the kernel had pending for this thread, interrupted the repeated run; the kernel does not say how many runs it made (between 1 and repeat), so their side effects may be partial";
    } else if (code === ENOTSUPP || code === EOPNOTSUPP) {
      hint = "this program type has no BPF_PROG_TEST_RUN support in this kernel";
    }
    return new BpfError("BPF_PROG_TEST_RUN", code, { context, hint });
  }
}

/**
 * A test run prepared once and repeated without parsing options, copying input or allocating:
 * the loop body of a benchmark harness. Made by `Program.prepareRun`. Results of a run are read
 * from its getters; `data` is a view of native memory that the next run overwrites. A syscall
 * program writes its context back over the prepared input, so its next run starts from that.
 */
export class PreparedRun {
  readonly #runner: TestRunner;
  readonly #fd: () => number;
  #options: RunOptions | undefined;

  /** @internal */
  constructor(runner: TestRunner, fd: () => number, options: RunOptions | undefined) {
    this.#runner = runner;
    this.#fd = fd;
    this.#options = options === undefined ? undefined : { ...options };
    runner.configure(fd(), this.#options);
  }

  /** Run the program once more; returns its return value. Throws BpfError, ClosedError. */
  run(): number {
    this.#runner.rerun(this.#fd());
    return this.#runner.retval;
  }

  /** Replace the input data (copied once, here). Throws TypeError. */
  setData(data: Uint8Array): void {
    this.#options = { ...this.#options, data };
    this.#runner.configure(this.#fd(), this.#options);
  }

  /** The return value of the last run. */
  get retval(): number {
    return this.#runner.retval;
  }

  /** The kernel's mean duration of one run in the last call, in ns. */
  get durationNs(): number {
    return this.#runner.durationNs;
  }

  /** The data out of the last run: a view of native memory, valid until the next run (copy it to keep it). */
  get data(): Uint8Array | undefined {
    return this.#runner.dataView();
  }

  /** The last run's results as a fresh RunResult with copies of data and ctx. */
  result(): RunResult {
    return this.#runner.result();
  }
}
