import { describe, expect, it } from "vitest";
import { attach } from "../../src/link/attach.js";
import { ATTACH_KIND_PROGRAM_TYPES, type AttachKind } from "../../src/link/link.js";

// A program-shaped object whose fd is not open: if any attach function reached a syscall with
// it, the kernel would answer EBADF, so a TypeError naming the types proves the check came first.
const NOT_OPEN = 0x3fff_fff0;
function wrong(kind: AttachKind) {
  const type = kind === "xdp" ? "tracepoint" : "xdp";
  return { fd: NOT_OPEN, name: "wrong_type", type } as const;
}

// Options each kind accepts as far as its own checks go (none of them is ever used by a syscall).
const OPTIONS: Record<AttachKind, unknown> = {
  xdp: { interface: "lo" },
  tcx: { interface: "lo", direction: "ingress" },
  tc: { interface: "lo", direction: "ingress" },
  netkit: { interface: "lo", side: "primary" },
  netfilter: { family: "ipv4", hook: "local_in", priority: 1 },
  cgroup: { cgroup: "/sys/fs/cgroup", attachType: "cgroup_inet_ingress" },
  socketFilter: { socket: 0 },
  skLookup: {},
  flowDissector: {},
  sockmap: { map: NOT_OPEN, attachType: "sk_skb_stream_verdict" },
  tracepoint: { category: "syscalls", name: "sys_enter_getpid" },
  rawTracepoint: { name: "sys_enter" },
  tpBtf: {},
  tracing: {},
  lsm: undefined,
  freplace: {},
  iter: {},
  perfEvent: { event: { type: "software", name: "cpu_clock" } },
  kprobe: { symbol: "do_sys_openat2" },
  kprobeMulti: { symbols: ["do_sys_openat2"] },
  uprobe: { path: "/bin/true", symbol: "main" },
  uprobeMulti: { path: "/bin/true", symbols: ["main"] },
  usdt: { path: "/bin/true", provider: "p", name: "n", specsMap: { fd: NOT_OPEN } },
  lircMode2: { device: "/dev/lirc0" },
};

describe("every attach kind refuses a program of the wrong type before the syscall", () => {
  it("the table covers every attach kind that takes a program", () => {
    const kinds = Object.keys(attach).filter((k) => k !== "structOps" && k !== "bySection");
    expect(Object.keys(ATTACH_KIND_PROGRAM_TYPES).sort()).toEqual(kinds.sort());
  });

  it.each(Object.keys(ATTACH_KIND_PROGRAM_TYPES) as AttachKind[])("attach.%s", (kind) => {
    const p = wrong(kind);
    const accepted = ATTACH_KIND_PROGRAM_TYPES[kind].map((t) => `"${t}"`).join(" or ");
    const fn = attach[kind] as (p: unknown, o?: unknown) => unknown;
    let thrown: unknown;
    try {
      fn(p, OPTIONS[kind]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toContain(`program "wrong_type" is a ${p.type} program, but attach.${kind} accepts ${accepted} programs`);
  });

  it("a program of an accepted type passes the check (and only then reaches the kernel)", () => {
    // The fd is not open: getting past the type check means the kernel is asked and says EBADF.
    const tp = { fd: NOT_OPEN, name: "tp", type: "tracepoint" };
    expect(() => attach.tracepoint(tp, { category: "syscalls", name: "sys_enter_getpid" })).toThrow(/EBADF|bad file/i);
  });
});
