/**
 * Waiting for an fd to become ready without blocking the event loop, and without a thread hop:
 * the fd is watched by the calling thread's own libuv loop (a `uv_poll_t` handle, through
 * koffi, on the libuv that Node exports to addons), so the kernel wakes the loop's epoll_wait
 * directly and the callback runs on the JS thread in the loop's poll phase.
 *
 * Why this design (measured with benchmarks/readers.ts, see docs/readers.md): the readers used
 * to block in epoll_wait on a libuv pool thread (a koffi async call), which cost a pool-thread
 * wakeup, a hand-back through uv_async and, per wait, a queued work item: ~5 context switches
 * per wakeup and 2.4–3.4× libbpf's CPU per record. A timer-polling wait cost less CPU under load
 * but added up to 10 ms of latency and lost records in bursts. Here a wakeup is one return from
 * the loop's own epoll_wait: the same cost as libbpf's ring_buffer__poll, plus one JS callback.
 *
 * The protocol that makes a wakeup impossible to miss (see `FdWatch.wait`): arm the watch,
 * THEN check the shared memory the caller reads (a ring's positions), and sleep only when the
 * check finds nothing. Any record written after the check is followed by a kernel wakeup, and
 * that wakeup reaches the armed watch; any record written before it is seen by the check. A
 * callback that fires when nobody waits is remembered, never dropped.
 */
import { SyscallError } from "../errors.js";
import { Fd } from "./fd.js";
import { koffi } from "./libc.js";

/** `UV_READABLE` / `UV_WRITABLE` (uv.h). */
export const UV_READABLE = 1;
export const UV_WRITABLE = 2;
/** `UV_POLL` in `uv_handle_type` (uv.h). */
const UV_POLL = 8;
/**
 * Offsets in a `uv_poll_t` (libuv 1.x on 64-bit Linux, 160 bytes) of its io watcher's `events`
 * (what libuv has registered with epoll: 0 until the loop's next poll phase adds the fd) and
 * `fd`. The fd offset is checked against the fd given to uv_poll_init before `events` is trusted.
 */
const IO_EVENTS_OFFSET = 148;
const IO_FD_OFFSET = 152;

interface Uv {
  currentLoop(): unknown;
  handleSize: number;
  pollInit(loop: unknown, handle: unknown, fd: number): number;
  pollStart(handle: unknown, events: number, cb: unknown): number;
  pollStop(handle: unknown): number;
  close(handle: unknown, cb: unknown): void;
  ref(handle: unknown): void;
  unref(handle: unknown): void;
  pollCb: unknown;
  closeCb: unknown;
}

/** Watches by handle address, for the one registered poll callback (weak: a forgotten watch is collected). */
const watches = new Map<number, WeakRef<FdWatch>>();
/**
 * Watches with a sleeping wait, held strongly. The only path from a GC root to a pending wait
 * (its promise, the caller's suspended async function, the reader it iterates) runs through
 * the watch's own waiter list, and `watches` holds the watch weakly: without this set the
 * collector could take a watch in the middle of a wait, its finalizer would close the handles,
 * and the wait would never end (seen under load on Node 22). A sleeping wait pins the watch the
 * way a referenced libuv handle pins its owner; an idle watch is still collectable.
 */
const sleeping = new Set<FdWatch>();
/** Handle memory kept alive until libuv's close callback says it is done with it. */
const closing = new Map<number, Buffer>();

/** What a watch owns: its libuv handles and its own duplicates of the watched fds. */
interface Held {
  handles: Buffer[];
  fds: Fd[];
}

/** Close the handles (libuv stops polling at once), then the fds they watched. */
function release(held: Held): void {
  const lib = uv;
  for (const h of held.handles) {
    const address = Number(koffi().address(h));
    watches.delete(address);
    if (lib) {
      closing.set(address, h); // libuv owns the memory until its close callback
      lib.close(h, lib.closeCb);
    }
  }
  held.handles.length = 0;
  for (const fd of held.fds) fd.close();
  held.fds.length = 0;
}

/** The safety net for a watch dropped without close(): handles closed before their fds. */
const registry = new FinalizationRegistry<Held>(release);

let uv: Uv | null | undefined;

/**
 * libuv, as exported by the running Node binary (addons link against the same symbols), or
 * null where it is not (another runtime): waits then fall back to timers.
 */
function loadUv(): Uv | null {
  if (uv !== undefined) return uv;
  try {
    const self = koffi().load(null as unknown as string);
    const isolate = self.func("void *_ZN2v87Isolate10GetCurrentEv(void)") as () => unknown;
    // node::GetCurrentEventLoop(v8::Isolate*): the loop of the calling thread (main or Worker).
    const loopOf = self.func("void *_ZN4node19GetCurrentEventLoopEPN2v87IsolateE(void *)") as (i: unknown) => unknown;
    // The handle arrives as an integer, not a pointer: koffi wraps a `void *` argument in an
    // object (and koffi().address() turns it into a BigInt), ~0.8 µs per wakeup; the same
    // register holds either, and the address is only a key into `watches`.
    const PollCb = koffi().proto("void tsbpf_uv_poll_cb(uintptr_t handle, int status, int events)");
    const CloseCb = koffi().proto("void tsbpf_uv_close_cb(void *handle)");
    const handleSize = Number((self.func("size_t uv_handle_size(int)") as (t: number) => number)(UV_POLL));
    uv = {
      currentLoop: () => loopOf(isolate()),
      handleSize,
      pollInit: self.func("int uv_poll_init(void *, void *, int)") as Uv["pollInit"],
      pollStart: self.func("int uv_poll_start(void *, int, tsbpf_uv_poll_cb *)") as Uv["pollStart"],
      pollStop: self.func("int uv_poll_stop(void *)") as Uv["pollStop"],
      close: self.func("void uv_close(void *, tsbpf_uv_close_cb *)") as Uv["close"],
      ref: self.func("void uv_ref(void *)") as Uv["ref"],
      unref: self.func("void uv_unref(void *)") as Uv["unref"],
      pollCb: koffi().register((handle: number, status: number) => {
        // Never throw into libuv: the watch only wakes a waiter, which re-checks memory.
        watches.get(handle)?.deref()?._fired(status);
      }, koffi().pointer(PollCb)),
      closeCb: koffi().register((handle: unknown) => {
        closing.delete(Number(koffi().address(handle)));
      }, koffi().pointer(CloseCb)),
    };
    if (!(handleSize > 0) || !uv.currentLoop()) uv = null;
  } catch {
    uv = null;
  }
  return uv;
}

/** Whether waits use the event loop's own epoll (true) or fall back to timers (another runtime). */
export function eventLoopWaits(): boolean {
  return loadUv() !== null;
}

/** What a wait ended with. */
export type WaitEnd = "ready" | "timeout" | "closed";

/** Options of FdWatch.wait(). */
export interface WatchWaitOptions {
  /** Returns true when what the caller waits for is there (checked in shared memory, no syscall). */
  ready: () => boolean;
  /** Date.now() after which the wait ends with "timeout"; Infinity for none. */
  deadline: number;
  /** Ends the wait: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Test seam (not exported by the package): called at the two points of a wait where a wakeup
 * can race the waiter, so a test can put a record (and steal its wakeup) exactly there and
 * prove nothing is slept through. `beforeArm` runs after the caller found nothing and before
 * the watch is armed; `afterCheck` after the armed check found nothing, before sleeping.
 */
export const raceHooks: { beforeArm?: () => void; afterCheck?: () => void } = {};

/** Longest pause between two checks of the timer fallback. */
const FALLBACK_MAX_MS = 10;

/**
 * Watches one or more fds (a reader's ring fds) for readiness on the calling thread's event
 * loop. `wait()` resolves once the caller's `ready()` check holds, the deadline passes, or the
 * watch closes; it never blocks the event loop. While nobody waits the handles do not keep the
 * process alive. Several waits may sleep at once. close() ends pending waits ("closed") and releases the
 * handles; the caller closes the fds afterwards.
 */
export class FdWatch implements Disposable {
  readonly #what: string;
  readonly #held: Held = { handles: [], fds: [] };
  readonly #events: number;
  readonly #level: boolean;
  /** Whether the handles are started (watched by the loop's epoll). */
  #started = false;
  /** Whether the started handles are referenced (keep the loop alive): only while a wait sleeps. */
  #refed = false;
  /** Whether the uv_poll_t layout was recognised (IO_FD_OFFSET holds the fd): `#inEpoll()` can be read. */
  #layoutKnown = true;
  /** Sleeps left, after a fresh start with an unknown layout, that are capped at 1 ms. */
  #settleChecks = 0;
  /** Waits sleeping now (several may: a read() beside an iteration); a callback wakes them all. */
  readonly #waiters = new Set<(end: WaitEnd) => void>();
  #closed = false;
  #sleeps = 0;

  /**
   * Watch `fds` for `events` (UV_READABLE or UV_WRITABLE). `level`: the fds stay ready while
   * data is pending (a BPF ring buffer), so a watch that fires while nobody waits stops, or it
   * would fire on every loop turn; otherwise each readiness is a one-time flag that a poll clears
   * (a perf event), and the watch stays registered for the reader's life (unreferenced while
   * idle). The watch polls its own duplicates of the fds, so the caller may close its fds in
   * any order. Throws SyscallError when libuv refuses an fd.
   */
  constructor(fds: readonly number[], events: number, what: string, level: boolean) {
    this.#what = what;
    this.#events = events;
    this.#level = level;
    const lib = loadUv();
    if (!lib) return;
    const loop = lib.currentLoop();
    registry.register(this, this.#held, this);
    try {
      for (const fd of fds) {
        const borrowed = new Fd(fd, what);
        let own: Fd;
        try {
          own = borrowed.dup();
        } finally {
          borrowed.disown();
        }
        this.#held.fds.push(own);
        const handle = Buffer.allocUnsafeSlow(lib.handleSize).fill(0);
        const r = lib.pollInit(loop, handle, own.value);
        if (r < 0) throw new SyscallError("uv_poll_init", "uv_poll_init", -r, { context: `${what}: watch fd ${fd} on the event loop` });
        if (lib.handleSize !== 160 || handle.readInt32LE(IO_FD_OFFSET) !== own.value) this.#layoutKnown = false;
        watches.set(Number(koffi().address(handle)), new WeakRef(this));
        this.#held.handles.push(handle);
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /**
   * How many times a wait of this watch has slept (gone back to the event loop). A wait that
   * finds its data at once returns without a loop turn: a streaming reader compares this
   * before and after a wait to know whether timers and I/O got to run meanwhile.
   */
  get sleeps(): number {
    return this.#sleeps;
  }

  /** @internal The poll callback of one of this watch's handles. */
  _fired(status: number): void {
    const n = this.#waiters.size;
    if (n === 1) {
      for (const w of this.#waiters) w("ready"); // one waiter (the usual case): no copy of the set
    } else if (n > 1) {
      for (const w of [...this.#waiters]) w("ready");
    } else if (this.#level) {
      // Nobody waits: stop watching, or a level-triggered fd would fire on every loop turn. The
      // next wait arms again and checks memory before it sleeps, so nothing is lost.
      this.#stop();
    }
    if (status < 0) this.#stop(); // an error on the fd: the caller's memory check decides
  }

  /**
   * Start the handles (or just reference them again); true when they were stopped. libuv adds
   * a started fd to its epoll set only at the next poll phase, and for a perf event that add
   * itself polls the fd and so takes a wakeup that came before it: the caller must look at its
   * memory once more after that loop turn.
   */
  #start(): boolean {
    const lib = uv;
    const handles = this.#held.handles;
    if (!lib || handles.length === 0) return false;
    const fresh = !this.#started;
    if (fresh) {
      for (let i = 0; i < handles.length; i++) {
        const r = lib.pollStart(handles[i], this.#events, lib.pollCb);
        if (r < 0) throw new SyscallError("uv_poll_start", "uv_poll_start", -r, { context: `${this.#what}: watch an fd on the event loop` });
      }
      this.#started = true;
    }
    if (!this.#refed) {
      for (const h of handles) lib.ref(h);
      this.#refed = true;
    }
    return fresh;
  }

  /**
   * Whether libuv has added every fd to its epoll set. It does so only at the loop's next poll
   * phase after a start, and for a perf event that add itself polls the fd, which clears a
   * wakeup that came before it (and epoll then reports nothing): until the add is done, a wait
   * must look at its memory again after each loop turn. Unknown layout: never trusted (false).
   */
  #inEpoll(): boolean {
    if (!this.#layoutKnown) return false;
    for (const h of this.#held.handles) if (h.readUInt32LE(IO_EVENTS_OFFSET) === 0) return false;
    return true;
  }

  /** Keep watching (a streaming reader waits again soon) but let the process exit meanwhile. */
  #idle(): void {
    if (uv && this.#started && this.#refed) for (const h of this.#held.handles) uv.unref(h);
    this.#refed = false;
  }

  #stop(): void {
    if (!uv || !this.#started) return;
    for (const h of this.#held.handles) uv.pollStop(h);
    this.#started = false;
    this.#refed = false; // a stopped handle keeps nothing alive; the next start references it again
  }

  /**
   * Wait until `ready()` holds (resolves "ready"), the deadline passes ("timeout") or the watch
   * closes ("closed"); rejects with `signal.reason` when the signal aborts. The order that
   * closes every wakeup race: arm, then check, then sleep; after each wakeup, check again.
   */
  async wait(options: WatchWaitOptions): Promise<WaitEnd> {
    const { ready, deadline, signal } = options;
    signal?.throwIfAborted();
    let fallbackDelay = 0;
    for (;;) {
      if (this.#closed) return "closed";
      raceHooks.beforeArm?.();
      const fresh = this.#start(); // arm …
      if (ready()) {
        // … then check: data that arrived before the watch was armed is found here, even when
        // its wakeup was taken by someone else (a perf event's poll clears its wakeup flag).
        this.#idle();
        return "ready";
      }
      raceHooks.afterCheck?.();
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#idle();
        return "timeout";
      }
      // Until libuv has added the fds to its epoll set (next poll phase), a wakeup can be lost
      // (see #inEpoll): look again after each loop turn, or each millisecond (unknown layout:
      // a few times after a fresh start).
      if (fresh) this.#settleChecks = 3;
      let short: number | undefined;
      if (!uv) short = fallbackDelay;
      else if (!this.#level && !this.#inEpoll()) short = this.#layoutKnown ? 0 : this.#settleChecks-- > 0 ? 1 : undefined;
      const end = await this.#sleep(left, signal, short);
      this.#sleeps++;
      fallbackDelay = Math.min(Math.max(1, fallbackDelay * 2), FALLBACK_MAX_MS);
      if (end === "closed") return "closed";
      if (end === "aborted") {
        this.#idle();
        throw signal!.reason;
      }
      // "ready" or "timeout": check memory again (a wakeup can be spurious; the deadline decides).
    }
  }

  /**
   * Sleep `ms` with the fds out of the loop's epoll set (wakeup coalescing, see
   * ringbuf/fair.ts): records that arrive meanwhile wake nobody and are found by the caller's
   * next look at memory, which it makes when the pause ends. Resolves "timeout" after `ms`,
   * "closed" at once when the watch closes; rejects with `signal.reason` at once on abort.
   * The next wait() starts the handles again (and, for a perf event, looks once per loop turn
   * until libuv has added them back: see #inEpoll).
   */
  async pause(ms: number, signal?: AbortSignal): Promise<"timeout" | "closed"> {
    signal?.throwIfAborted();
    if (this.#closed) return "closed";
    // uv_poll_stop removes the fd from the epoll set at once (libuv: uv__platform_invalidate_fd).
    this.#stop();
    const end = await this.#sleep(ms, signal, undefined);
    this.#sleeps++;
    if (end === "aborted") throw signal!.reason;
    return end === "closed" ? "closed" : "timeout";
  }

  /** Sleep until a callback, `ms`, close or abort; at most `shortMs` when set (0: one loop turn). */
  #sleep(ms: number, signal: AbortSignal | undefined, shortMs: number | undefined): Promise<WaitEnd | "aborted"> {
    return new Promise<WaitEnd | "aborted">((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let immediate: NodeJS.Immediate | undefined;
      const finish = (end: WaitEnd | "aborted"): void => {
        if (timer) clearTimeout(timer);
        if (immediate) clearImmediate(immediate);
        signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(finish);
        if (this.#waiters.size === 0) sleeping.delete(this);
        resolve(end);
      };
      const onAbort = (): void => finish("aborted");
      this.#waiters.add(finish);
      sleeping.add(this);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (shortMs === 0) immediate = setImmediate(() => finish("timeout"));
      else {
        const t = shortMs === undefined ? ms : Math.min(ms, shortMs);
        if (t !== Infinity) timer = setTimeout(() => finish("timeout"), Math.min(t, 0x7fffffff));
      }
    });
  }

  /** Stop watching and release the handles and fds; a pending wait resolves "closed". Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    registry.unregister(this);
    this.#started = false;
    release(this.#held);
    for (const w of [...this.#waiters]) w("closed");
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
