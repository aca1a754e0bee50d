import { execFileSync } from "node:child_process";
import { existsSync, unlinkSync } from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";
import { Program, type StatsHandle } from "../../src/program/program.js";
import { Link } from "../../src/link/link.js";
import { attachXdp, queryXdp } from "../../src/link/xdp.js";
import { attachTcx, queryTcx } from "../../src/link/tcx.js";
import { attachTc, queryTc, removeClsact } from "../../src/link/tc.js";
import { withNetns } from "../../src/sys/netns.js";
import { describeKernel, itKernel, uniqueName } from "../helpers/kernel.js";
import { VethEnv } from "./net-env.js";
import { retProgram, runs } from "./progs.js";

let stats: StatsHandle;
beforeAll(() => {
  if (process.getuid?.() === 0) stats = Program.enableStats();
});
afterAll(() => stats?.close());

function bpftoolJson(args: string[], ns?: string): unknown {
  const cmd = ns ? ["ip", ["netns", "exec", ns, "bpftool", "-j", ...args]] as const : ["bpftool", ["-j", ...args]] as const;
  return JSON.parse(execFileSync(cmd[0], [...cmd[1]], { encoding: "utf8" }));
}

describeKernel("XDP", () => {
  itKernel("counts packets by bpf_link, bpftool agrees, and stops after close", () => {
    using env = new VethEnv();
    using prog = retProgram("xdp", 2, "xdp_pass");
    const link = attachXdp(prog, { interface: env.ifB, netns: env.b.name });
    try {
      expect(link.isBpfLink).toBe(true);
      const info = link.info();
      expect(info.type).toBe("xdp");
      expect(info.programId).toBe(prog.info().id);
      const q = queryXdp(env.ifB, env.b.name);
      expect(q.programId).toBe(prog.info().id);
      const net = bpftoolJson(["net", "show"], env.b.name) as Array<{ xdp: Array<{ devname: string; id: number }> }>;
      expect(net[0]!.xdp.map((x) => [x.devname, x.id])).toEqual([[env.ifB, prog.info().id]]);
      const before = runs(prog);
      expect(env.sendUdp(20)).toBe(20);
      expect(runs(prog) - before).toBeGreaterThanOrEqual(20n);
    } finally {
      link.close();
    }
    expect(queryXdp(env.ifB, env.b.name).attached).toBe("none");
    const netAfter = bpftoolJson(["net", "show"], env.b.name) as Array<{ xdp: unknown[] }>;
    expect(netAfter[0]!.xdp).toEqual([]);
    const after = runs(prog);
    env.sendUdp(10);
    expect(runs(prog)).toBe(after);
  });

  itKernel("netlink force replaces whatever is attached; the old Link then leaves the new program alone", () => {
    using env = new VethEnv();
    using p1 = retProgram("xdp", 2, "xdp_f1");
    using p2 = retProgram("xdp", 2, "xdp_f2");
    const l1 = attachXdp(p1, { interface: env.ifB, netns: env.b.name, method: "netlink", mode: "generic" });
    const l2 = attachXdp(p2, { interface: env.ifB, netns: env.b.name, method: "netlink", mode: "generic", force: true });
    try {
      expect(queryXdp(env.ifB, env.b.name)).toMatchObject({ attached: "generic", programId: p2.info().id });
      l1.close();
      expect(queryXdp(env.ifB, env.b.name).programId).toBe(p2.info().id);
    } finally {
      l1.close();
      l2.close();
    }
    expect(queryXdp(env.ifB, env.b.name).attached).toBe("none");
  });

  itKernel("attaches by netlink in generic and driver mode, replaces with the expected program, and detaches", () => {
    using env = new VethEnv();
    using p1 = retProgram("xdp", 2, "xdp_one");
    using p2 = retProgram("xdp", 2, "xdp_two");
    for (const mode of ["generic", "driver"] as const) {
      const l1 = attachXdp(p1, { interface: env.ifB, netns: env.b.name, method: "netlink", mode });
      try {
        expect(l1.isBpfLink).toBe(false);
        const q = queryXdp(env.ifB, env.b.name);
        expect(q.attached).toBe(mode);
        expect(q.programId).toBe(p1.info().id);
        // A second attach without replace is refused.
        expect(() => attachXdp(p2, { interface: env.ifB, netns: env.b.name, method: "netlink", mode })).toThrow(/EBUSY/);
        const before = runs(p1);
        env.sendUdp(5);
        expect(runs(p1) - before).toBeGreaterThanOrEqual(5n);
        // Replacing with a wrong expected program fails; with the right one it swaps.
        expect(() => attachXdp(p2, { interface: env.ifB, netns: env.b.name, method: "netlink", mode, replace: p2 })).toThrow(/EEXIST/);
        const l2 = attachXdp(p2, { interface: env.ifB, netns: env.b.name, method: "netlink", mode, replace: p1 });
        expect(queryXdp(env.ifB, env.b.name).programId).toBe(p2.info().id);
        // l1 no longer owns the interface: closing it leaves p2 alone.
        l1.close();
        expect(queryXdp(env.ifB, env.b.name).programId).toBe(p2.info().id);
        l2.close();
        expect(queryXdp(env.ifB, env.b.name).attached).toBe("none");
      } finally {
        l1.close();
      }
    }
  });

  itKernel("a netlink attach over a link gets EBUSY; a pinned link survives close and reopens", () => {
    using env = new VethEnv();
    using prog = retProgram("xdp", 2, "xdp_pin");
    const pin = `/sys/fs/bpf/${uniqueName("tsbpf_xdp")}`;
    const link = attachXdp(prog, { interface: env.ifB, netns: env.b.name, mode: "generic" });
    try {
      expect(() => attachXdp(prog, { interface: env.ifB, netns: env.b.name, method: "netlink", mode: "generic" })).toThrow(/EBUSY/);
      link.pin(pin);
      const id = link.id;
      link.close();
      expect(queryXdp(env.ifB, env.b.name).programId).toBe(prog.info().id);
      using reopened = Link.open(pin);
      expect(reopened.id).toBe(id);
      expect(reopened.pinnedPath).toBe(pin);
      expect(reopened.info()).toMatchObject({ type: "xdp", programId: prog.info().id });
      using byId = Link.fromId(id!);
      expect(byId.type).toBe("xdp");
      expect(Link.ids()).toContain(id);
      // update swaps the program in place
      using p2 = retProgram("xdp", 2, "xdp_pin2");
      reopened.update(p2);
      expect(queryXdp(env.ifB, env.b.name).programId).toBe(p2.info().id);
      expect(() => reopened.update(prog, { expected: prog })).toThrow(/EPERM|EINVAL/);
      reopened.detach();
      expect(queryXdp(env.ifB, env.b.name).attached).toBe("none");
      reopened.unpin();
      expect(existsSync(pin)).toBe(false);
      expect(reopened.pinnedPath).toBeUndefined();
    } finally {
      link.close();
      try {
        unlinkSync(pin);
      } catch {}
    }
  });
});

describeKernel("tcx", () => {
  itKernel("orders programs, counts packets, agrees with bpftool, and detaches on close", () => {
    using env = new VethEnv();
    using p1 = retProgram("sched_cls", -1, "tcx_one"); // TCX_NEXT: let the next program run
    using p2 = retProgram("sched_cls", -1, "tcx_two");
    using p3 = retProgram("sched_cls", -1, "tcx_three");
    const l1 = attachTcx(p1, { interface: env.ifB, direction: "ingress", netns: env.b.name });
    const l2 = attachTcx(p2, { interface: env.ifB, direction: "ingress", netns: env.b.name, before: { link: l1 } });
    const q0 = queryTcx(env.ifB, "ingress", env.b.name);
    const l3 = attachTcx(p3, { interface: env.ifB, direction: "ingress", netns: env.b.name, after: { programId: p2.info().id }, expectedRevision: q0.revision });
    const linkIds: number[] = [];
    try {
      const q = queryTcx(env.ifB, "ingress", env.b.name);
      linkIds.push(...q.linkIds);
      expect(q.programIds).toEqual([p2.info().id, p3.info().id, p1.info().id]);
      expect(q.linkIds).toEqual([l2.id, l3.id, l1.id]);
      expect(() => attachTcx(p1, { interface: env.ifB, direction: "ingress", netns: env.b.name, expectedRevision: q0.revision })).toThrow(/ESTALE from BPF_LINK_CREATE/);
      expect(l1.info()).toMatchObject({ type: "tcx", attachType: "tcx_ingress" });
      // Debian's bpftool 7.1 predates tcx: it lists the links by number (11 = BPF_LINK_TYPE_TCX).
      for (const [i, id] of q.linkIds.entries()) {
        expect(bpftoolJson(["link", "show", "id", String(id)])).toEqual({ id, type: 11, prog_id: q.programIds[i] });
      }
      const before = runs(p1);
      env.sendUdp(10);
      expect(runs(p1) - before).toBeGreaterThanOrEqual(10n);
      // update swaps the program of one link in place, keeping its position.
      using p4 = retProgram("sched_cls", -1, "tcx_four");
      l3.update(p4);
      expect(queryTcx(env.ifB, "ingress", env.b.name).programIds).toEqual([p2.info().id, p4.info().id, p1.info().id]);
    } finally {
      l1.close();
      l2.close();
      l3.close();
    }
    expect(queryTcx(env.ifB, "ingress", env.b.name).programIds).toEqual([]);
    expect(() => execFileSync("bpftool", ["link", "show", "id", String(linkIds[0])], { stdio: "pipe" })).toThrow();
    const after = runs(p1);
    env.sendUdp(5);
    expect(runs(p1)).toBe(after);
  });
});

describeKernel("tcx by BPF_PROG_ATTACH", () => {
  itKernel("attaches without a link beside links, replaces atomically, and detaches on close", () => {
    using env = new VethEnv();
    using a = retProgram("sched_cls", -1, "tcxa_a");
    using b = retProgram("sched_cls", -1, "tcxa_b");
    using c = retProgram("sched_cls", -1, "tcxa_c");
    using viaLink = attachTcx(c, { interface: env.ifB, direction: "egress", netns: env.b.name });
    const la = attachTcx(a, { interface: env.ifB, direction: "egress", netns: env.b.name, method: "attach", before: "first" });
    try {
      let q = queryTcx(env.ifB, "egress", env.b.name);
      expect(q.programIds).toEqual([a.info().id, c.info().id]);
      expect(q.linkIds).toEqual([0, viaLink.id]); // no link for the BPF_PROG_ATTACH one
      expect(la.isBpfLink).toBe(false);
      const lb = attachTcx(b, { interface: env.ifB, direction: "egress", netns: env.b.name, method: "attach", replace: a });
      q = queryTcx(env.ifB, "egress", env.b.name);
      expect(q.programIds).toEqual([b.info().id, c.info().id]);
      la.close(); // a was replaced: nothing to undo
      expect(queryTcx(env.ifB, "egress", env.b.name).programIds).toEqual([b.info().id, c.info().id]);
      const before = runs(b);
      env.sendUdp(4, 9999, "b");
      expect(runs(b) - before).toBeGreaterThanOrEqual(4n);
      lb.close();
    } finally {
      la.close();
    }
    expect(queryTcx(env.ifB, "egress", env.b.name).programIds).toEqual([c.info().id]);
  });
});

describeKernel("classic tc (clsact + cls_bpf)", () => {
  itKernel("adds a direct-action filter that runs, that tc filter show lists, and removes it on close", () => {
    using env = new VethEnv();
    using prog = retProgram("sched_cls", 0, "tc_ok");
    const link = attachTc(prog, { interface: env.ifB, direction: "ingress", netns: env.b.name, priority: 7, handle: 3 });
    try {
      const filters = queryTc(env.ifB, "ingress", env.b.name);
      expect(filters).toEqual([{ priority: 7, handle: 3, kind: "bpf", programId: prog.info().id, name: "tc_ok", directAction: true }]);
      const shown = execFileSync("tc", ["-n", env.b.name, "filter", "show", "dev", env.ifB, "ingress"], { encoding: "utf8" });
      expect(shown).toMatch(/pref 7 bpf .*handle 0x3 tc_ok direct-action/s);
      expect(shown).toContain(`id ${prog.info().id}`);
      expect(link.info()).toMatchObject({ type: "tc", programId: prog.info().id, priority: 7 });
      expect(() => attachTc(prog, { interface: env.ifB, direction: "ingress", netns: env.b.name, priority: 7, handle: 3 })).toThrow(/EEXIST/);
      const before = runs(prog);
      env.sendUdp(10);
      expect(runs(prog) - before).toBeGreaterThanOrEqual(10n);
    } finally {
      link.close();
    }
    expect(queryTc(env.ifB, "ingress", env.b.name)).toEqual([]);
    expect(execFileSync("tc", ["-n", env.b.name, "filter", "show", "dev", env.ifB, "ingress"], { encoding: "utf8" }).trim()).toBe("");
    const after = runs(prog);
    env.sendUdp(5);
    expect(runs(prog)).toBe(after);
  });
});

describeKernel("more XDP and tc", () => {
  itKernel("refuses driver mode beside generic with the kernel's own message", () => {
    using env = new VethEnv();
    using g = retProgram("xdp", 2, "xdp_gen");
    using d = retProgram("xdp", 2, "xdp_drv");
    using lg = attachXdp(g, { interface: env.ifB, netns: env.b.name, method: "netlink", mode: "generic" });
    expect(() => attachXdp(d, { interface: env.ifB, netns: env.b.name, method: "netlink", mode: "driver" })).toThrow(
      'xdp program "xdp_drv" on "vb": attach: EEXIST from RTM_SETLINK (kernel: Native and generic XDP can\'t be active at the same time)',
    );
    expect(lg.info()).toMatchObject({ type: "netlink_xdp", attached: "generic", programId: g.info().id, genericProgramId: g.info().id });
  });

  itKernel("tc filters by priority, replace in place, and clsact removal", () => {
    using env = new VethEnv();
    using a = retProgram("sched_cls", 0, "tc_a");
    using b = retProgram("sched_cls", 0, "tc_b");
    using c = retProgram("sched_cls", 0, "tc_c");
    const la = attachTc(a, { interface: env.ifB, direction: "egress", netns: env.b.name, priority: 20 });
    const lb = attachTc(b, { interface: env.ifB, direction: "egress", netns: env.b.name, priority: 5, handle: 9, name: "custom" });
    try {
      expect(queryTc(env.ifB, "egress", env.b.name).map((f) => [f.priority, f.handle, f.name])).toEqual([[5, 9, "custom"], [20, 1, "tc_a"]]);
      // replace: the same priority and handle now run another program.
      const lc = attachTc(c, { interface: env.ifB, direction: "egress", netns: env.b.name, priority: 20, replace: true });
      expect(queryTc(env.ifB, "egress", env.b.name).find((f) => f.priority === 20)?.programId).toBe(c.info().id);
      // la's filter now runs c: closing la leaves it alone; closing lc removes it.
      la.close();
      expect(queryTc(env.ifB, "egress", env.b.name).find((f) => f.priority === 20)?.programId).toBe(c.info().id);
      lc.close();
      expect(queryTc(env.ifB, "egress", env.b.name).map((f) => f.priority)).toEqual([5]);
      const before = runs(b);
      env.sendUdp(3, 9999, "b"); // b's egress
      expect(runs(b) - before).toBeGreaterThanOrEqual(3n);
    } finally {
      la.close();
      lb.close();
    }
    expect(queryTc(env.ifB, "egress", env.b.name)).toEqual([]);
    removeClsact(env.ifB, env.b.name);
    expect(execFileSync("tc", ["-n", env.b.name, "qdisc", "show", "dev", env.ifB], { encoding: "utf8" })).not.toContain("clsact");
    expect(queryTc(env.ifB, "egress", env.b.name)).toEqual([]); // no qdisc: nothing, not an error
  });
});

