/** EpollSet (src/sys/epoll.ts): readiness, timeouts, close during a wait, misuse. */
import { readFile } from "node:fs/promises";
import { beforeAll, expect, it } from "vitest";
import { isClosedError } from "../../src/errors.js";
import { EpollSet, EPOLLIN } from "../../src/sys/epoll.js";
import { NativeMemory, SYS, syscall3 } from "../../src/sys/libc.js";
import { Fd } from "../../src/sys/fd.js";
import { describeKernel, openFdCount } from "../helpers/kernel.js";

/** A non-blocking eventfd to make readable on demand. */
function eventfd(): Fd {
  const fd = syscall3(290, 0, 0o4000 | 0o2000000, 0);
  if (fd < 0) throw new Error("eventfd2 failed");
  return new Fd(fd, "test eventfd");
}

function signal(fd: Fd): void {
  const one = new NativeMemory(8);
  one.view.setBigUint64(0, 1n, true);
  expect(syscall3(SYS.write, fd.value, one.address, 8)).toBe(8);
}

describeKernel("EpollSet", () => {
  beforeAll(async () => {
    // The process-wide wait thread opens its two fds on first use: open them before counting.
    using warm = new EpollSet("warm-up", 1, "thread");
    await warm.wait(1);
  });

  for (const strategy of ["thread", "poll"] as const) {
    it(`${strategy}: resolves with the token of the fd that became ready, and [] on timeout`, async () => {
      using ev = eventfd();
      using set = new EpollSet("test set", 4, strategy);
      set.add(ev.value, 7, EPOLLIN);
      expect(set.poll()).toEqual([]);
      expect(await set.wait(20)).toEqual([]);
      const waiting = set.wait(5000);
      setTimeout(() => signal(ev), 20);
      expect(await waiting).toEqual([7]);
      expect(set.poll()).toEqual([7]); // level-triggered: still readable
      set.remove(ev.value);
      expect(set.poll()).toEqual([]);
    });

    it(`${strategy}: close() during a wait resolves it with [] and closes both fds`, async () => {
      const before = openFdCount();
      const set = new EpollSet("test set", 1, strategy);
      expect(openFdCount()).toBe(before + 1);
      const waiting = set.wait();
      await new Promise((r) => setTimeout(r, 20));
      set.close();
      expect(await waiting).toEqual([]);
      expect(openFdCount()).toBe(before);
      set.close();
      let err: unknown;
      try {
        set.poll();
      } catch (e) {
        err = e;
      }
      expect(isClosedError(err)).toBe(true);
      await expect(set.wait(1)).rejects.toSatisfy(isClosedError);
    });
  }

  it("refuses a second concurrent wait, a bad timeout, a bad strategy and a bad fd", async () => {
    using set = new EpollSet("test set");
    const first = set.wait(30);
    await expect(set.wait(10)).rejects.toThrow(/already in flight/);
    await first;
    await expect(set.wait(-1)).rejects.toThrow(RangeError);
    expect(() => new EpollSet("x", 1, "spin" as never)).toThrow(/"thread" or "poll"/);
    expect(() => set.add(999_999, 1)).toThrow(/EBADF from EPOLL_CTL_ADD/);
  });

  it("many sets waiting at once hold one libuv pool thread: file reads still complete", async () => {
    const sets = Array.from({ length: 8 }, (_, i) => new EpollSet(`set ${i}`, 1, "thread"));
    try {
      const waits = sets.map((s) => s.wait(10_000));
      await new Promise((r) => setTimeout(r, 20));
      // With one pool thread per wait, 8 waits would take all 4 pool threads for a 1 s slice.
      const started = Date.now();
      for (let i = 0; i < 8; i++) await readFile("/proc/self/stat");
      expect(Date.now() - started).toBeLessThan(700);
      for (const s of sets) s.close();
      expect(await Promise.all(waits)).toEqual(sets.map(() => []));
    } finally {
      for (const s of sets) s.close();
    }
  });

  it("a poll-strategy wait ends when the caller's ready check says so", async () => {
    using set = new EpollSet("test set", 1, "poll");
    let ready = false;
    setTimeout(() => (ready = true), 20);
    const started = Date.now();
    expect(await set.wait(5000, () => ready)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(4000);
  });
});
