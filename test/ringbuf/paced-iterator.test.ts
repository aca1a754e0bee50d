/**
 * PacedIterator without a kernel: a host whose rings alternate between one record and empty,
 * and whose wait finds the next record at once (its check after arming), the way a reader
 * that keeps catching up with a fast producer sees the ring. Such a wait never lets the event
 * loop turn, so it must not count as a turn: the iterator still yields every YIELD_RECORDS
 * records or YIELD_MS ms.
 */
import { describe, expect, it } from "vitest";
import { EMPTY, type IteratorHost, PacedIterator, YIELD_RECORDS } from "../../src/ringbuf/fair.js";

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
});
