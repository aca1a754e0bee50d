import { describe, expect, it } from "vitest";
import { attach } from "../../src/link/attach.js";
import { encodeOrdering } from "../../src/link/target.js";
import { encodeLinkCreate, encodeProgAttach, LINK_CREATE_SIZE, PROG_ATTACH_SIZE } from "../../src/sys/link-attr.js";
import { clsactParent, filterInfo } from "../../src/link/tc.js";
import { encodePerfEventAttr, parseCpuList, parseFormatBit, PERF_ATTR_SIZE, pmuRetprobePath, pmuTypePath } from "../../src/sys/perf-event.js";

// Options are checked before any syscall, so none of these needs the kernel (fd 0 is never used).
const prog = 0;

describe("attach options are validated before any syscall", () => {
  const cases: Array<[string, () => unknown, RegExp | TypeErrorConstructor]> = [
    ["xdp unknown key", () => attach.xdp(prog, { interface: "lo", iface: "x" } as never), /unknown option "iface"/],
    ["xdp bad mode", () => attach.xdp(prog, { interface: "lo", mode: "turbo" as never }), /mode must be/],
    ["xdp replace with link", () => attach.xdp(prog, { interface: "lo", replace: 3 }), /replace and force apply to method "netlink"/],
    ["xdp bad index", () => attach.xdp(prog, { interface: -1 }), /not a positive integer/],
    ["tcx direction", () => attach.tcx(prog, { interface: 1, direction: "sideways" as never }), /direction must be/],
    ["tcx replace with link", () => attach.tcx(prog, { interface: 1, direction: "ingress", replace: 3 }), /replace applies to method "attach"/],
    ["tcx both anchors", () => attach.tcx(prog, { interface: 1, direction: "ingress", before: "first", after: "last" }), /before or after, not both/],
    ["tc priority", () => attach.tc(prog, { interface: 1, direction: "ingress", priority: 0 }), /priority must be an integer in 1..65535/],
    ["tc handle", () => attach.tc(prog, { interface: 1, direction: "ingress", handle: 1.5 }), /handle must be/],
    ["netfilter priority", () => attach.netfilter(prog, { family: "ipv4", hook: "local_in", priority: -0x80000000 }), /strictly between/],
    ["netfilter hook", () => attach.netfilter(prog, { family: "ipv6", hook: "input" as never, priority: 1 }), /hook must be one of/],
    ["cgroup method", () => attach.cgroup(prog, { cgroup: 5, attachType: "cgroup_inet_ingress", method: "magic" as never }), /method must be/],
    ["cgroup flags", () => attach.cgroup(prog, { cgroup: 5, attachType: "cgroup_inet_ingress", flags: "all" as never }), /flags must be/],
    ["socket filter socket", () => attach.socketFilter(prog, { socket: -3 }), /socket must be a file descriptor/],
    ["sockmap type", () => attach.sockmap(prog, { map: 3, attachType: "sk_msg" as never }), /attachType must be one of/],
    ["tracepoint name", () => attach.tracepoint(prog, { category: "a b", name: "c" }), TypeError],
    ["raw tracepoint name", () => attach.rawTracepoint(prog, { name: "" }), /name must be a tracepoint name/],
    ["kprobe symbol", () => attach.kprobe(prog, { symbol: "rm -rf" }), /symbol must be a kernel function name/],
    ["kprobe offset", () => attach.kprobe(prog, { symbol: "f", offset: -1 }), /offset must be a non-negative integer/],
    ["kprobe_multi neither", () => attach.kprobeMulti(prog, {}), /give symbols or addresses/],
    ["uprobe neither", () => attach.uprobe(prog, { path: "/bin/true" }), /give a symbol or an offset/],
    ["uprobe pid", () => attach.uprobe(prog, { path: "/bin/true", offset: 0, pid: -2 }), /pid must be -1 or a process id/],
    ["uprobe missing file", () => attach.uprobe(prog, { path: "/nonexistent/bin", offset: 0 }), /no such file/],
    ["uprobe_multi both", () => attach.uprobeMulti(prog, { path: "/bin/true", symbols: ["a"], offsets: [1] }), /give symbols or offsets/],
    ["iter two scopes", () => attach.iter(prog, { map: 3, task: { tid: 1 } }), /at most one of map, task, cgroup/],
    ["perf event both rates", () => attach.perfEvent(prog, { event: { type: "software", name: "cpu_clock" }, samplePeriod: 1, sampleFrequency: 1 }), /not both/],
    ["perf event name", () => attach.perfEvent(prog, { event: { type: "software", name: "nope" as never } }), /unknown software event/],
    ["tracing cookie without type", () => attach.tracing(prog, { cookie: 1n }), /a cookie needs attachType/],
    ["tracing bad type", () => attach.tracing(prog, { attachType: "xdp" as never }), /attachType must be/],
    ["freplace half", () => attach.freplace(prog, { targetBtfId: 3 }), /target and targetBtfId together/],
    ["struct_ops method", () => attach.structOps({ type: "tcp_congestion_ops", programs: {}, method: "x" as never }), /method must be/],
    ["usdt map", () => attach.usdt(prog, { path: "/bin/true", provider: "a", name: "b", specsMap: {} as never }), /specsMap must be/],
    ["lirc device", () => attach.lircMode2(prog, { device: "lirc0" }), /absolute path/],
    ["lirc missing device", () => attach.lircMode2(prog, { device: "/dev/no-such-lirc" }), /ENOENT from openat/],
    ["program", () => attach.rawTracepoint({} as never, { name: "sys_enter" }), /expected a Program, an Fd or an fd number/],
  ];
  it.each(cases)("%s", (_name, fn, err) => {
    expect(fn).toThrow(err);
  });
});

describe("attr layouts", () => {
  it("link_create: netfilter, mprog, uprobe_multi and perf_event variants sit where the 6.18 UAPI has them", () => {
    const v = new DataView(new ArrayBuffer(LINK_CREATE_SIZE));
    encodeLinkCreate({ progFd: 3, target: 4, attachType: 45, flags: 0, extra: { kind: "netfilter", pf: 2, hooknum: 1, priority: -5, flags: 1 } }, v);
    expect([v.getUint32(8, true), v.getUint32(16, true), v.getUint32(20, true), v.getInt32(24, true), v.getUint32(28, true)]).toEqual([45, 2, 1, -5, 1]);
    encodeLinkCreate({ progFd: 3, target: 4, attachType: 46, flags: 8, extra: { kind: "mprog", relative: 9, expectedRevision: 77n } }, v);
    expect([v.getUint32(12, true), v.getUint32(16, true), v.getBigUint64(24, true), v.getUint32(28 + 4, true)]).toEqual([8, 9, 77n, 0]);
    encodeLinkCreate({ progFd: 1, target: 0, attachType: 48, flags: 0, extra: { kind: "uprobe_multi", path: 0x10, offsets: 0x20, refCtrOffsets: 0x30, cookies: 0x40, count: 5, flags: 1, pid: 99 } }, v);
    expect([v.getBigUint64(16, true), v.getBigUint64(40, true), v.getUint32(48, true), v.getUint32(52, true), v.getUint32(56, true)]).toEqual([0x10n, 0x40n, 5, 1, 99]);
    encodeLinkCreate({ progFd: 1, target: 7, attachType: 41, flags: 0, extra: { kind: "perf_event", cookie: -1n } }, v);
    expect(v.getBigUint64(16, true)).toBe(0xffffffffffffffffn);
  });
  it("prog_attach: replace_bpf_fd, relative and expected_revision", () => {
    const v = new DataView(new ArrayBuffer(PROG_ATTACH_SIZE));
    encodeProgAttach({ target: 1, progFd: 2, attachType: 3, flags: 4, replaceFd: 5, relative: 6, expectedRevision: 7n }, v);
    expect([1, 2, 3, 4, 5, 6].map((_, i) => v.getUint32(i * 4, true))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(v.getBigUint64(24, true)).toBe(7n);
  });
  it("ordering flags", () => {
    expect(encodeOrdering({ before: "first" }, "t")).toEqual({ flags: 8, relative: 0, expectedRevision: 0n });
    expect(encodeOrdering({ after: { programId: 12 } }, "t")).toEqual({ flags: 16 | 32, relative: 12, expectedRevision: 0n });
    expect(encodeOrdering({ before: { linkId: 3 }, expectedRevision: 5n }, "t")).toEqual({ flags: 8 | 32 | 8192, relative: 3, expectedRevision: 5n });
    expect(() => encodeOrdering({ before: { linkId: 0 } }, "t")).toThrow(/positive u32/);
  });
  it("tc handles", () => {
    expect(clsactParent("ingress")).toBe(0xfffffff2);
    expect(clsactParent("egress")).toBe(0xfffffff3);
    expect(filterInfo(7)).toBe((7 << 16) | 0x0300);
  });
  it("perf_event_attr and PMU paths", () => {
    const v = new DataView(new ArrayBuffer(PERF_ATTR_SIZE));
    encodePerfEventAttr({ type: 8, config: 1n | (0x40n << 32n), config1: 0x1000n, config2: 0x42n, samplePeriod: 1000n, freq: true, disabled: true }, v);
    expect([v.getUint32(0, true), v.getUint32(4, true), v.getBigUint64(8, true), v.getBigUint64(16, true), v.getBigUint64(40, true), v.getBigUint64(56, true), v.getBigUint64(64, true)]).toEqual([8, 136, 0x4000000001n, 1000n, (1n << 10n) | 1n, 0x1000n, 0x42n]);
    expect(pmuTypePath("uprobe")).toBe("/sys/bus/event_source/devices/uprobe/type");
    expect(pmuRetprobePath("kprobe")).toBe("/sys/bus/event_source/devices/kprobe/format/retprobe");
    expect(parseFormatBit("config:0\n")).toBe(0);
    expect(() => parseFormatBit("config1:0-63")).toThrow(/unexpected PMU format/);
    expect(parseCpuList("0-3,5,7-8\n")).toEqual([0, 1, 2, 3, 5, 7, 8]);
    expect(() => parseCpuList("3-1")).toThrow(/bad CPU range/);
  });
});
