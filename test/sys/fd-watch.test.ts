/** FdWatch (src/sys/fd-watch.ts): readiness on the event loop's own epoll, the arm-then-check protocol, timeouts, close, abort. */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, it } from "vitest";
import { Fd } from "../../src/sys/fd.js";
import { eventLoopWaits, FdWatch, UV_READABLE } from "../../src/sys/fd-watch.js";
import { NativeMemory, SYS, syscall3 } from "../../src/sys/libc.js";
import { describeKernel, openFdCount } from "../helpers/kernel.js";

/** A non-blocking eventfd to make readable on demand. */
function eventfd(): Fd {
  const fd = syscall3(290, 0, 0o4000 | 0o2000000, 0);
  if (fd < 0) throw new Error("eventfd2 failed");
  return new Fd(fd, "test eventfd");
}

const eight = new NativeMemory(8);
function signal(fd: Fd): void {
  eight.view.setBigUint64(0, 1n, true);
  expect(syscall3(SYS.write, fd.value, eight.address, 8)).toBe(8);
}
function drain(fd: Fd): void {
  syscall3(SYS.read, fd.value, eight.address, 8);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A full collection on demand (the flag is set before the first `gc` lookup of a fresh context). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describeKernel("FdWatch", () => {
  it("uses the event loop's own epoll under Node (no thread, no timers)", () => {
    expect(eventLoopWaits()).toBe(true);
  });

  it("wakes on readiness, re-checks the caller's memory, and ends with timeout when nothing comes", async () => {
    using ev = eventfd();
    using watch = new FdWatch([ev.value], UV_READABLE, "test watch", true);
    let flag = false;
    const ready = (): boolean => flag;
    expect(await watch.wait({ ready, deadline: Date.now() + 20 })).toBe("timeout");
    // A wakeup without the condition (spurious for the caller) does not end the wait...
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const waiting = watch.wait({ ready, deadline: Infinity });
    setTimeout(() => {
      signal(ev); // wakes the watch; the caller's check says no: it sleeps again
      setImmediate(() => drain(ev));
    }, 10);
    setTimeout(() => {
      drain(ev);
      flag = true;
      signal(ev);
    }, 60);
    const started = Date.now();
    expect(await waiting).toBe("ready");
    clearInterval(timer);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(ticks).toBeGreaterThanOrEqual(2); // the event loop ran timers meanwhile
  });

  it("finds what arrived before it was armed without sleeping (arm, then check)", async () => {
    using ev = eventfd();
    using watch = new FdWatch([ev.value], UV_READABLE, "test watch", true);
    // The condition already holds and no wakeup will ever come: the check after arming sees it.
    expect(await watch.wait({ ready: () => true, deadline: Infinity })).toBe("ready");
  });

  it("close() ends a pending wait at once, and abort rejects it with the signal's reason", async () => {
    const before = openFdCount();
    using ev = eventfd();
    const watch = new FdWatch([ev.value], UV_READABLE, "test watch", true);
    expect(openFdCount()).toBe(before + 2); // the eventfd and the watch's own dup of it
    const pending = watch.wait({ ready: () => false, deadline: Infinity });
    await sleep(10);
    watch.close();
    expect(await pending).toBe("closed");
    expect(openFdCount()).toBe(before + 1);
    watch.close();

    using again = new FdWatch([ev.value], UV_READABLE, "test watch", true);
    const ac = new AbortController();
    const aborted = again.wait({ ready: () => false, deadline: Infinity, signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
    const reason = new Error("stop");
    await expect(again.wait({ ready: () => false, deadline: Infinity, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it("serves several waits at once: one wakeup wakes them all", async () => {
    using ev = eventfd();
    using watch = new FdWatch([ev.value], UV_READABLE, "test watch", true);
    let flag = false;
    const a = watch.wait({ ready: () => flag, deadline: Infinity });
    const b = watch.wait({ ready: () => flag, deadline: Infinity });
    setTimeout(() => {
      flag = true;
      signal(ev);
    }, 10);
    expect(await Promise.all([a, b])).toEqual(["ready", "ready"]);
  });

  it("a watch that fires while nobody waits stops watching, and the next wait still sees the condition", async () => {
    using ev = eventfd();
    using watch = new FdWatch([ev.value], UV_READABLE, "test watch", true);
    let flag = false;
    expect(await watch.wait({ ready: () => flag, deadline: Date.now() + 5 })).toBe("timeout"); // armed, left idle
    signal(ev); // fires with no waiter (level-triggered: it would fire on every loop turn if still watched)
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (++ticks === 10) {
          clearInterval(t);
          resolve();
        }
      }, 1);
    });
    flag = true;
    expect(await watch.wait({ ready: () => flag, deadline: Date.now() + 1000 })).toBe("ready");
  });

  // Regression (CI on Node 22, 2026-12-04): the only path to a pending wait runs through the
  // watch itself, which the poll callback's table holds weakly; a collection mid-wait took the
  // watch, its finalizer closed the handles, and the wait never ended.
  it("a pending wait keeps its watch alive through a garbage collection", async () => {
    using ev = eventfd();
    let flag = false;
    // Nothing outside this async function refers to the watch.
    const waiting = (async (): Promise<string> => {
      using watch = new FdWatch([ev.value], UV_READABLE, "test watch", true);
      return await watch.wait({ ready: () => flag, deadline: Infinity });
    })();
    for (let i = 0; i < 3; i++) {
      collectGarbage();
      await sleep(10); // finalizers run in a later task
    }
    flag = true;
    signal(ev);
    const hung = sleep(5000).then(() => "still waiting 5 s after the wakeup");
    expect(await Promise.race([waiting, hung])).toBe("ready");
  });
});

describeKernel("FdWatch.pause (wakeup coalescing)", () => {
  it("is not woken by readiness, lasts its time, and the next wait is woken again", async () => {
    using ev = eventfd();
    using watch = new FdWatch([ev.value], UV_READABLE, "test watch", true);
    let flag = false;
    const ready = (): boolean => flag;
    // Armed once, so the pause has a started handle to take out of the epoll set.
    expect(await watch.wait({ ready, deadline: Date.now() + 5 })).toBe("timeout");
    const sleeps = watch.sleeps;
    const started = performance.now();
    const paused = watch.pause(30);
    setTimeout(() => {
      flag = true;
      signal(ev);
    }, 5);
    expect(await paused).toBe("timeout");
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    expect(watch.sleeps).toBe(sleeps + 1);
    // The record that came during the pause is found by the caller's look (here: ready()).
    expect(await watch.wait({ ready, deadline: Date.now() + 1000 })).toBe("ready");
    drain(ev);
    flag = false;
    const woken = watch.wait({ ready, deadline: Date.now() + 5000 });
    setTimeout(() => {
      flag = true;
      signal(ev);
    }, 10);
    const t = performance.now();
    expect(await woken).toBe("ready");
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it("ends at once on abort (rejects with the reason) and on close (\"closed\")", async () => {
    using ev = eventfd();
    const watch = new FdWatch([ev.value], UV_READABLE, "test watch", true);
    const ac = new AbortController();
    const reason = new Error("stop");
    const t = performance.now();
    const aborted = watch.pause(60_000, ac.signal);
    setTimeout(() => ac.abort(reason), 10);
    await expect(aborted).rejects.toBe(reason);
    expect(performance.now() - t).toBeLessThan(1000);
    await expect(watch.pause(1, ac.signal)).rejects.toBe(reason);
    const t2 = performance.now();
    const closed = watch.pause(60_000);
    setTimeout(() => watch.close(), 10);
    expect(await closed).toBe("closed");
    expect(performance.now() - t2).toBeLessThan(1000);
    expect(await watch.pause(1)).toBe("closed");
  });
});
