import { closeSync, openSync } from "node:fs";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { Program, type StatsHandle } from "../../src/program/program.js";
import { attachBySection, planAttach } from "../../src/link/auto.js";
import { describeKernel, it, itKernel } from "./kit.js";
import { VethEnv } from "./net-env.js";
import { retProgram, runs } from "./progs.js";

let stats: StatsHandle;
beforeAll(() => {
  if (process.getuid?.() === 0) stats = Program.enableStats();
});
afterAll(() => stats?.close());

describe("planAttach: what a section name says (no kernel needed)", () => {
  it.each([
    ["tracepoint/syscalls/sys_enter_openat", { kind: "tracepoint", options: { category: "syscalls", name: "sys_enter_openat" }, needs: [] }],
    ["tp/sched/sched_switch", { kind: "tracepoint", options: { category: "sched", name: "sched_switch" }, needs: [] }],
    ["raw_tp/sys_enter", { kind: "rawTracepoint", options: { name: "sys_enter" }, needs: [] }],
    ["kprobe/do_unlinkat+8", { kind: "kprobe", options: { symbol: "do_unlinkat", offset: 8, retprobe: false }, needs: [] }],
    ["kretprobe/do_unlinkat", { kind: "kprobe", options: { symbol: "do_unlinkat", offset: 0, retprobe: true }, needs: [] }],
    ["ksyscall/openat", { kind: "kprobe", options: { symbol: "openat", syscall: true, retprobe: false }, needs: [] }],
    ["kprobe.multi/do_unlinkat", { kind: "kprobeMulti", options: { symbols: ["do_unlinkat"], retprobe: false }, needs: [] }],
    ["uprobe//usr/bin/true:main", { kind: "uprobe", options: { path: "/usr/bin/true", symbol: "main", offset: 0, retprobe: false }, needs: [] }],
    ["uretprobe/libc.so.6:malloc", { kind: "uprobe", options: { path: "libc.so.6", symbol: "malloc", offset: 0, retprobe: true }, needs: [] }],
    ["uprobe", { kind: "uprobe", options: { retprobe: false }, needs: ["path", "symbol"] }],
    ["uprobe.multi//bin/x:f", { kind: "uprobeMulti", options: { path: "/bin/x", symbols: ["f"], retprobe: false }, needs: [] }],
    ["uprobe.session//bin/x:f", { kind: "uprobeMulti", options: { path: "/bin/x", symbols: ["f"], session: true }, needs: [] }],
    ["kprobe.session/do_unlinkat", { kind: "kprobeMulti", options: { symbols: ["do_unlinkat"], session: true }, needs: [] }],
    ["usdt//bin/x:prov:probe", { kind: "usdt", options: { path: "/bin/x", provider: "prov", name: "probe" }, needs: ["specsMap"] }],
    ["tp_btf/sched_switch", { kind: "tpBtf", options: {}, needs: [] }],
    ["fentry/do_unlinkat", { kind: "tracing", options: {}, needs: [] }],
    ["lsm/file_open", { kind: "lsm", options: {}, needs: [] }],
    ["lsm_cgroup/file_open", { kind: "cgroup", options: { attachType: "lsm_cgroup" }, needs: ["cgroup"] }],
    ["iter/task", { kind: "iter", options: {}, needs: [] }],
    ["freplace/handler", { kind: "freplace", options: {}, needs: [] }],
    ["xdp", { kind: "xdp", options: {}, needs: ["interface"] }],
    ["tcx/ingress", { kind: "tcx", options: { direction: "ingress" }, needs: ["interface"] }],
    ["tc", { kind: "tc", options: {}, needs: ["interface", "direction"] }],
    ["netkit/peer", { kind: "netkit", options: { side: "peer" }, needs: ["interface"] }],
    ["cgroup/connect4", { kind: "cgroup", options: { attachType: "cgroup_inet4_connect" }, needs: ["cgroup"] }],
    ["sockops", { kind: "cgroup", options: { attachType: "cgroup_sock_ops" }, needs: ["cgroup"] }],
    ["sk_msg", { kind: "sockmap", options: { attachType: "sk_msg_verdict" }, needs: ["map"] }],
    ["sk_lookup", { kind: "skLookup", options: {}, needs: [] }],
    ["netfilter", { kind: "netfilter", options: {}, needs: ["family", "hook", "priority"] }],
    ["socket", { kind: "socketFilter", options: {}, needs: ["socket"] }],
    ["perf_event", { kind: "perfEvent", options: {}, needs: ["event"] }],
    ["lirc_mode2", { kind: "lircMode2", options: {}, needs: ["device"] }],
  ])("%s", (section, plan) => {
    expect(planAttach(section)).toEqual(plan);
  });

  it("refuses sections that are not attached by a link", () => {
    expect(() => planAttach(".text")).toThrow(/not a program section/);
    expect(() => planAttach("struct_ops/ssthresh")).toThrow(/use attachStructOps/);
    expect(() => planAttach("xdp/devmap")).toThrow(/devmap\/cpumap entry/);
    expect(() => planAttach("tracepoint/nocategory")).toThrow(/missing or malformed/);
    expect(() => planAttach("kprobe.multi/do_*")).toThrow(/patterns are not expanded/);
  });
});

describeKernel("attachBySection", () => {
  itKernel("attaches a tracepoint and a raw tracepoint by section alone", () => {
    using tp = retProgram("tracepoint", 0, "auto_tp");
    using raw = retProgram("raw_tracepoint", 0, "auto_raw");
    using l1 = attachBySection(tp, "tracepoint/syscalls/sys_enter_openat");
    using l2 = attachBySection(raw, "raw_tp/sys_enter");
    const [a, b] = [runs(tp), runs(raw)];
    for (let i = 0; i < 5; i++) closeSync(openSync("/proc/self/stat", "r"));
    expect(runs(tp) - a).toBeGreaterThanOrEqual(5n);
    expect(runs(raw) - b).toBeGreaterThanOrEqual(10n);
    expect(l1.info()).toMatchObject({ tracepoint: "syscalls:sys_enter_openat" });
    expect(l2.info()).toMatchObject({ tracepoint: "sys_enter" });
  });

  itKernel("takes what the section cannot say from extra, and says what is missing", () => {
    using env = new VethEnv();
    using xdp = retProgram("xdp", 2, "auto_xdp");
    expect(() => attachBySection(xdp, "xdp")).toThrow(/needs interface \(pass them in extra\)/);
    using link = attachBySection(xdp, "xdp", { interface: env.ifB, netns: env.b.name });
    expect(link.info()).toMatchObject({ type: "xdp" });
    const before = runs(xdp);
    env.sendUdp(4);
    expect(runs(xdp) - before).toBeGreaterThanOrEqual(4n);
  });
});
