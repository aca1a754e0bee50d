/**
 * Fair streaming, shared by every reader: a loop over a ring that never empties would run in
 * microtasks forever (an awaited promise that is already resolved does not return to the event
 * loop), so timers, I/O and HTTP servers in the same process would stop. Readers count what
 * they deliver and, every YIELD_RECORDS records or YIELD_MS milliseconds, let one turn of the
 * event loop run (setImmediate: timers and I/O run before the reader continues).
 *
 * The numbers (measured by benchmarks/readers.ts, see docs/readers.md): a yield costs one
 * event-loop turn, ~5–20 µs, so yielding every 2 ms costs under 1% of a busy reader's time and
 * bounds the lag a streaming reader adds to a timer at ~2 ms plus the loop body's own time.
 */

/** Most records a reader delivers between two turns of the event loop. */
export const YIELD_RECORDS = 16384;
/** Longest time (ms) a reader delivers records without letting the event loop turn. */
export const YIELD_MS = 2;
/** Records between two looks at the clock (a power of two). */
const CLOCK_EVERY = 64;

/** Counts records delivered since the event loop last ran, and says when to let it run. */
export class Pacer {
  #count = 0;
  #since = performance.now();

  /** Count one record; true when the caller should yield (`yield()`) before delivering more. */
  due(): boolean {
    const n = ++this.#count;
    if ((n & (CLOCK_EVERY - 1)) !== 0) return false;
    return n >= YIELD_RECORDS || performance.now() - this.#since >= YIELD_MS;
  }

  /** Count `records` delivered at once (a poll() batch) and look at the clock; true when due. */
  dueAfter(records: number): boolean {
    this.#count += records;
    return this.#count >= YIELD_RECORDS || performance.now() - this.#since >= YIELD_MS;
  }

  /** The event loop just ran (a wait slept, or a yield). */
  reset(): void {
    this.#count = 0;
    this.#since = performance.now();
  }

  /** Let one turn of the event loop run, then start counting again. Rejects with the signal's reason on abort. */
  async yield(signal?: AbortSignal): Promise<void> {
    await nextTurn();
    signal?.throwIfAborted();
    this.reset();
  }
}

/** Resolve after one turn of the event loop (timers and I/O get to run). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Wakeup coalescing (like a NIC's interrupt coalescing). A wakeup costs the reader far more
 * than a record (a return from the loop's epoll_wait, a koffi callback, a promise, the
 * microtask checkpoint: ~20–50 µs against ~0.1 µs per record), and a fast producer wakes a
 * reader that keeps catching up every few records. So once records come fast, a reader whose
 * rings empty does not arm its watch at once: it pauses COALESCE_MS with its fds out of the
 * epoll set (FdWatch.pause), then looks at memory, and delivers what came meanwhile as one
 * batch. It goes back to waking per record (today's latency) as soon as a pause finds fewer
 * than COALESCE_MIN records, i.e. once the stream slows down below ~COALESCE_MIN per
 * COALESCE_MS, and it does not pause again after a pause that let a ring fill to
 * COALESCE_MAX_FILL of its size (a small perf ring at a high rate: a longer pause, e.g. a late
 * timer on a busy machine, could overflow it): it then waits armed, as without coalescing.
 */
/** Pause (ms) of a coalescing reader whose rings emptied: records then arrive up to ~1–2 ms late (libuv timers count whole ms). */
export const COALESCE_MS = 1;
/** A wait that slept less than this (ms) before records came starts coalescing (> ~5k records/s). */
export const COALESCE_FAST_MS = 0.2;
/** Records a pause must find for the next one to be a pause too. */
export const COALESCE_MIN = 2;
/** Fraction of a ring's size that a pause may let fill for the next one to be a pause too. */
export const COALESCE_MAX_FILL = 1 / 8;

/** Decides, each time a reader's rings are empty, between a coalescing pause and an armed wait. */
export class Coalescer {
  /** Records delivered since the last wakeup or pause. */
  batch = 0;
  /** false: never pause (the reader's `coalesce: false`: a wakeup per record as it comes). */
  readonly enabled: boolean;
  /** Whether the last sleep was a pause. */
  #paused = false;
  /** Whether the last pause let a ring fill to COALESCE_MAX_FILL. */
  #filled = false;
  /** Whether the last armed wait ended quickly (records come faster than COALESCE_FAST_MS apart). */
  #fast = false;
  #waitStarted = 0;

  constructor(enabled = true) {
    this.enabled = enabled;
  }

  /** The rings are empty: true to pause (then call paused()), false to wait armed (waitStart(), waitEnd()). */
  pauseNow(): boolean {
    if (!this.enabled) return false;
    const on = this.#paused ? this.batch >= COALESCE_MIN && !this.#filled : this.#fast && this.batch > 0;
    if (!on) this.#paused = this.#fast = false;
    return on;
  }

  /** A pause ended; `fill`: the fullest ring's share of its size in use now (what came during the pause). */
  paused(fill: number): void {
    this.#paused = true;
    this.#filled = fill >= COALESCE_MAX_FILL;
    this.batch = 0;
  }

  waitStart(): void {
    this.#waitStarted = performance.now();
  }

  /** `slept`: whether the wait went to sleep (one that found records when it armed is fast too). */
  waitEnd(slept: boolean): void {
    this.#fast = !slept || performance.now() - this.#waitStarted < COALESCE_FAST_MS;
    this.#paused = false;
    this.batch = 0;
  }
}

/** What `PacedIterator.take()` returns when the ring holds no ready record: wait for a wakeup. */
export const EMPTY = -1;
/** … when the record at the head is still being written: look again after one loop turn. */
export const HEAD_BUSY = -2;

/** What a PacedIterator needs from its reader. */
export interface IteratorHost {
  /** Whether the reader is closed (the iteration then ends). */
  closed(): boolean;
  /** Sleep until the reader's rings hold a record (the reader's FdWatch.wait). */
  wait(signal: AbortSignal | undefined): Promise<"ready" | "timeout" | "closed">;
  /** How many times the reader's waits have slept (its FdWatch.sleeps): did the event loop turn? */
  sleeps(): number;
  /** The iteration ended (the reader may be iterated again). */
  done(): void;
  /** Sleep `ms` without being woken by records (the reader's FdWatch.pause); none: never coalesce. */
  pause?(ms: number, signal: AbortSignal | undefined): Promise<"timeout" | "closed">;
  /** The fullest ring's share of its size in use (0–1); with pause. */
  fill?(): number;
}

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true }) as IteratorResult<never>;

/**
 * The async iterator of every reader's `records()`: takes records in place while the rings
 * hold some (no syscall, no await beyond the iterator protocol's own promise), and takes the
 * path that awaits only when the pacer says the event loop must turn, or the rings are empty
 * (then it sleeps on the reader's FdWatch). A subclass says how to take one record and how to
 * hand back the one it holds.
 */
export abstract class PacedIterator<T> implements AsyncIterableIterator<T> {
  readonly #signal: AbortSignal | undefined;
  readonly #host: IteratorHost;
  readonly #pacer = new Pacer();
  readonly #co = new Coalescer();
  #done = false;
  #inFlight: Promise<IteratorResult<T>> | undefined;

  constructor(signal: AbortSignal | undefined, host: IteratorHost) {
    this.#signal = signal;
    this.#host = host;
  }

  /** Hand back the record delivered last (if any), then return the next ready one, EMPTY or HEAD_BUSY. */
  protected abstract take(): T | number;
  /** Hand back the record delivered last, if any (the reader is still open). */
  protected abstract handBack(): void;

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#inFlight) return (this.#inFlight = this.#inFlight.then(() => this.next()));
    if (this.#done) return Promise.resolve(DONE);
    try {
      if (this.#signal?.aborted) throw this.#signal.reason;
      if (this.#host.closed()) return Promise.resolve(this.#finish());
      const due = this.#pacer.due();
      if (!due) {
        const r = this.take();
        if (typeof r !== "number") {
          this.#co.batch++;
          return Promise.resolve({ value: r, done: false });
        }
      }
      const p = this.#slow(due).finally(() => {
        this.#inFlight = undefined;
      });
      this.#inFlight = p;
      return p;
    } catch (e) {
      this.#finish();
      return Promise.reject(e);
    }
  }

  /** The path that awaits: one turn of the event loop first when `due`, then waits while the rings are empty. */
  async #slow(due: boolean): Promise<IteratorResult<T>> {
    try {
      if (due) await this.#pacer.yield(this.#signal);
      for (;;) {
        if (this.#host.closed()) return this.#finish();
        const r = this.take();
        if (typeof r !== "number") {
          this.#co.batch++;
          return { value: r, done: false };
        }
        if (r === HEAD_BUSY) {
          await nextTurn();
          this.#signal?.throwIfAborted();
          continue;
        }
        const host = this.#host;
        if (host.pause && this.#co.pauseNow()) {
          if ((await host.pause(COALESCE_MS, this.#signal)) === "closed") return this.#finish();
          this.#co.paused(host.fill ? host.fill() : 1);
          this.#pacer.reset();
          continue;
        }
        const sleeps = host.sleeps();
        this.#co.waitStart();
        if ((await host.wait(this.#signal)) === "closed") return this.#finish();
        // Only a wait that slept let the loop turn: one that found records at once (its check
        // after arming) must not restart the count, or a reader that keeps catching up with
        // its producer would never yield.
        const slept = host.sleeps() !== sleeps;
        this.#co.waitEnd(slept);
        if (slept) this.#pacer.reset();
      }
    } catch (e) {
      this.#finish();
      throw e;
    }
  }

  /** End the iteration: hand back the record held (unless the reader closed), release the reader. */
  #finish(): IteratorResult<T> {
    if (this.#done) return DONE;
    this.#done = true;
    if (!this.#host.closed()) this.handBack();
    this.#host.done();
    return DONE;
  }

  return(): Promise<IteratorResult<T>> {
    return Promise.resolve(this.#finish());
  }
}
