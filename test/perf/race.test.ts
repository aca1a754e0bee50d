/**
 * The lost-wakeup race, constructed: a record lands exactly between "the reader found the rings
 * empty" and "the reader sleeps", and its wakeup is taken by someone else (a perf event's poll
 * clears the event's wakeup flag; the old nested-epoll waiter lost records this way when its
 * re-arm polled the inner set). The reader must find the record anyway — by re-checking every
 * ring after arming its wait — in every one of 1,000 short runs, through read() and for await.
 * A second window puts the record after that check, before the sleep: the armed wait must wake.
 */
import { readdirSync, readlinkSync } from "node:fs";
import { afterEach, expect, it } from "vitest";
import { PerfReader } from "../../src/perf/reader.js";
import { RingBufReader } from "../../src/ringbuf/reader.js";
import { raceHooks } from "../../src/sys/fd-watch.js";
import { NativeMemory, syscall3 } from "../../src/sys/libc.js";
import { describeKernel } from "../helpers/kernel.js";
import { loadProducers, onCpu, produce } from "../ringbuf/producers.js";

const RUNS = 1000;
/** A record not delivered within this long counts as a stall (a delivered one takes < 1 ms). */
const STALL_MS = 500;
const SYS_POLL = 7;
const POLLIN = 1;

/** poll(2) every perf event fd of this process once, taking (clearing) their pending wakeups. */
function stealPerfWakeups(): number {
  const fds: number[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === "anon_inode:[perf_event]") fds.push(Number(name));
    } catch {
      // the fd of the directory listing itself is gone by now
    }
  }
  const pfds = new NativeMemory(8 * fds.length);
  fds.forEach((fd, i) => {
    pfds.view.setInt32(i * 8, fd, true);
    pfds.view.setInt16(i * 8 + 4, POLLIN, true);
  });
  return syscall3(SYS_POLL, pfds.address, fds.length, 0);
}

function within<T>(p: Promise<T>, ms: number): Promise<T | "stall"> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<"stall">((r) => (timer = setTimeout(() => r("stall"), ms)))]).finally(() => clearTimeout(timer));
}

const seqOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

/** Arm `hook` for the next wait only. */
function once(point: "beforeArm" | "afterCheck", fn: () => void): void {
  raceHooks[point] = () => {
    raceHooks[point] = undefined;
    fn();
  };
}

type Next = () => Promise<number | undefined>;

/**
 * RUNS short runs: each puts record `run` at `point` of the next wait (through `produceRun`)
 * and awaits it through `next`; returns the stalls (a record not delivered within STALL_MS).
 */
async function raceRuns(point: (run: number) => "beforeArm" | "afterCheck", produceRun: (run: number) => void, next: Next): Promise<number> {
  let stalls = 0;
  for (let run = 0; run < RUNS && stalls < 3; run++) {
    once(point(run), () => produceRun(run));
    const got = await within(next(), STALL_MS);
    if (got === "stall") stalls++;
    else expect(got).toBe(run);
  }
  return stalls;
}

describeKernel("the lost-wakeup race, constructed", () => {
  afterEach(() => {
    raceHooks.beforeArm = undefined;
    raceHooks.afterCheck = undefined;
  });

  for (const via of ["read()", "for await"] as const) {
    it(`perf reader, ${via}: ${RUNS} runs with the record landing before the wait arms and its wakeup stolen: 0 stalls`, async () => {
      using coll = loadProducers();
      using reader = new PerfReader(coll.maps.events);
      let stolen = 0;
      const stalls = await onCpu(reader.cpus[0], () =>
        raceRuns(
          () => "beforeArm",
          (run) => {
            produce(coll, "perf_output", { count: 1, first: run, size: 8 });
            stolen += stealPerfWakeups() > 0 ? 1 : 0;
          },
          perfNext(reader, via),
        ),
      );
      expect(stalls).toBe(0);
      // The race was really built: a wakeup was pending and taken in (nearly) every run.
      expect(stolen).toBeGreaterThan(RUNS * 0.9);
    }, 60_000);

    it(`perf reader, ${via}: ${RUNS} runs with the record landing after the armed check, before the sleep: 0 stalls`, async () => {
      using coll = loadProducers();
      using reader = new PerfReader(coll.maps.events);
      const stalls = await onCpu(reader.cpus[0], () =>
        raceRuns(() => "afterCheck", (run) => produce(coll, "perf_output", { count: 1, first: run, size: 8 }), perfNext(reader, via)),
      );
      expect(stalls).toBe(0);
    }, 60_000);

    it(`ring buffer reader, ${via}: ${RUNS} runs with the record landing in either window: 0 stalls`, async () => {
      using coll = loadProducers();
      using reader = new RingBufReader(coll.maps.rb);
      let next: Next;
      if (via === "read()") next = async () => ((b) => b && seqOf(b))(await reader.read());
      else {
        const it = reader.records();
        next = async () => ((r) => (r.done ? undefined : seqOf(r.value)))(await it.next());
      }
      const stalls = await raceRuns((run) => (run % 2 ? "beforeArm" : "afterCheck"), (run) => produce(coll, "rb_output", { count: 1, first: run, size: 8 }), next);
      expect(stalls).toBe(0);
    }, 60_000);
  }
});

function perfNext(reader: PerfReader, via: "read()" | "for await"): Next {
  const seq = (e: { type: string; data?: Uint8Array } | undefined): number | undefined => (e?.type === "sample" && e.data ? seqOf(e.data) : undefined);
  if (via === "read()") return async () => seq(await reader.read());
  const it = reader.records();
  return async () => ((r) => (r.done ? undefined : seq(r.value)))(await it.next());
}
