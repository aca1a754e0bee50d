/**
 * PacedIterator without a kernel: a host whose rings alternate between one record and empty,
 * and whose wait finds the next record at once (its check after arming), the way a reader
 * that keeps catching up with a fast producer sees the ring. Such a wait never lets the event
 * loop turn, so it must not count as a turn: the iterator still yields every YIELD_RECORDS
 * records or YIELD_MS ms.
 */
import { describe, expect, it } from "vitest";
import { Coalescer, COALESCE_MAX_FILL, COALESCE_MS, EMPTY, type IteratorHost, PacedIterator, YIELD_RECORDS } from "../../src/ringbuf/fair.js";

/**
 * Records are objects (a number is how take() says EMPTY / HEAD_BUSY). Each record comes after
 * two empty looks: the one next() makes on its fast path, and the one before the wait.
 */
class EmptyBetween extends PacedIterator<{ n: number }> {
  #n = 0;
  #looks = 0;
  handedBack = 0;
  protected take(): { n: number } | number {
    return ++this.#looks % 3 === 0 ? { n: ++this.#n } : EMPTY;
  }
  protected handBack(): void {
    this.handedBack++;
  }
}

function host(sleeps: () => number, wait: IteratorHost["wait"]): IteratorHost {
  return { closed: () => false, wait, sleeps, done: () => undefined };
}

describe("PacedIterator", () => {
  it("yields to the event loop while every wait finds records at once (no sleep)", async () => {
    const it = new EmptyBetween(undefined, host(() => 0, async () => "ready"));
    let turned = false;
    setImmediate(() => (turned = true));
    let n = 0;
    for await (const r of it) {
      n = r.n;
      if (turned || n > 4 * YIELD_RECORDS) break;
    }
    expect(turned).toBe(true);
    expect(n).toBeLessThanOrEqual(YIELD_RECORDS + 64);
    expect(it.handedBack).toBeGreaterThan(0); // records delivered before the turn went back first
  });

  it("restarts its count after a wait that slept (no extra turn per wakeup)", async () => {
    let sleeps = 0;
    const it = new EmptyBetween(undefined, host(() => sleeps, async () => {
      await new Promise((r) => setImmediate(r));
      sleeps++;
      return "ready";
    }));
    // Every wait sleeps: the pacer never comes due, so only waits hand records back
    // (one per take() that found the ring empty, none for a yield).
    let n = 0;
    for await (const r of it) if ((n = r.n) >= 3 * YIELD_RECORDS) break;
    expect(n).toBe(3 * YIELD_RECORDS);
    expect(it.handedBack).toBe(1); // only the hand-back of return() at the break
  });

  it("coalesces: pauses instead of arming once records come fast, wakes per record again when a pause finds fewer than 2", async () => {
    const log: string[] = [];
    const queue: number[] = [];
    let n = 0;
    const push = (k: number): void => {
      for (let i = 0; i < k; i++) queue.push(++n);
    };
    // What each pause finds; after the third, the stream slows down to one record per wait.
    const perPause = [3, 3, 1];
    class Queue extends PacedIterator<{ n: number }> {
      protected take(): { n: number } | number {
        return queue.length ? { n: queue.shift()! } : EMPTY;
      }
      protected handBack(): void {}
    }
    const it = new Queue(undefined, {
      closed: () => false,
      sleeps: () => 0,
      done: () => undefined,
      // Records were there when the wait armed (a fast stream): no sleep.
      wait: async () => {
        log.push("wait");
        push(log.length === 1 ? 3 : 1);
        return "ready";
      },
      pause: async (ms) => {
        log.push(`pause ${ms}`);
        push(perPause.shift() ?? 0);
        return "timeout";
      },
      fill: () => 0.01,
    });
    let got = 0;
    for await (const r of it) {
      expect(r.n).toBe(++got);
      if (got === 12) break;
    }
    const p = `pause ${COALESCE_MS}`;
    // Pauses while they gather ≥ 2 records (3, 3), then one that found 1 goes back to a wait;
    // that wait found its record at once (still fast): one more pause, which finds nothing.
    expect(log).toEqual(["wait", p, p, p, "wait", p, "wait"]);
  });

  it("does not coalesce a stream whose waits sleep (a slow producer keeps immediate wakeups)", async () => {
    let sleeps = 0;
    let pauses = 0;
    let pending = 0;
    class One extends PacedIterator<{ n: number }> {
      #n = 0;
      protected take(): { n: number } | number {
        if (pending === 0) return EMPTY;
        pending--;
        return { n: ++this.#n };
      }
      protected handBack(): void {}
    }
    const it = new One(undefined, {
      closed: () => false,
      sleeps: () => sleeps,
      done: () => undefined,
      wait: async () => {
        await new Promise((r) => setTimeout(r, 2));
        sleeps++;
        pending = 1;
        return "ready";
      },
      pause: async () => {
        pauses++;
        return "timeout";
      },
    });
    let got = 0;
    for await (const _ of it) if (++got === 10) break;
    expect(pauses).toBe(0);
  });

  it("stops coalescing after a pause that let a ring fill to COALESCE_MAX_FILL (no overflow of a small ring)", async () => {
    const log: string[] = [];
    let queued = 0;
    let n = 0;
    class Count extends PacedIterator<{ n: number }> {
      protected take(): { n: number } | number {
        if (queued === 0) return EMPTY;
        queued--;
        return { n: ++n };
      }
      protected handBack(): void {}
    }
    let fill = 0.01;
    const it = new Count(undefined, {
      closed: () => false,
      sleeps: () => 0,
      done: () => undefined,
      wait: async () => {
        log.push("wait");
        queued = 4;
        return "ready";
      },
      pause: async () => {
        log.push("pause");
        queued = 100;
        return "timeout";
      },
      fill: () => fill,
    });
    let got = 0;
    for await (const _ of it) {
      got++;
      if (got === 4 + 100) fill = COALESCE_MAX_FILL; // the second pause fills the ring an eighth
      if (got === 4 + 100 + 100 + 4) break;
    }
    expect(log).toEqual(["wait", "pause", "pause", "wait"]);
  });

  it("never pauses with coalescing off (a reader's coalesce: false), where it would pause with it on", () => {
    for (const enabled of [true, false]) {
      const co = new Coalescer(enabled);
      co.waitStart();
      co.waitEnd(false); // a wait that found records as it armed: a fast stream
      co.batch = 5;
      expect(co.pauseNow()).toBe(enabled);
    }
  });
});
