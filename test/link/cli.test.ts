/**
 * `tsbpf net`, `tsbpf link` and `tsbpf cgroup` against the kernel: what they list is what the
 * library and bpftool see; attach and detach act on a veth in a test namespace and on a test
 * cgroup, and leave nothing behind.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { expect } from "vitest";
import { attachTc } from "../../src/link/tc.js";
import { attachXdp, queryXdp } from "../../src/link/xdp.js";
import { queryTcx } from "../../src/link/tcx.js";
import { queryCgroup } from "../../src/link/cgroup.js";
import { cli } from "../cli/run.js";
import { hasTool, isRoot, uniqueName } from "../helpers/kernel.js";
import { KNOWN_LIMITS } from "../helpers/known-limits.js";
import { TestCgroup } from "./cgroup-env.js";
import { describeKernel, itKernel } from "./kit.js";
import { until, VethEnv } from "./net-env.js";
import { TestNetns } from "./netns.js";
import { createNetkit, netkitRefusal } from "./netkit-env.js";
import { retProgram } from "./progs.js";

const json = async (...args: string[]): Promise<any> => {
  const r = await cli(...args, "--json");
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
};
const bpftool = (...args: string[]): any => JSON.parse(execFileSync("bpftool", ["-j", ...args], { encoding: "utf8" }));

describeKernel("tsbpf link, net and cgroup", () => {
  itKernel("link show/list give the library's facts with bpftool's names; net list shows an interface's programs", async () => {
    using env = new VethEnv();
    using xdp = retProgram("xdp", 2, "cli_xdp");
    using tc = retProgram("sched_cls", 0, "cli_tc");
    using l = attachXdp(xdp, { interface: env.ifB, netns: env.b.name });
    using f = attachTc(tc, { interface: env.ifB, direction: "egress", netns: env.b.name, priority: 3 });
    const shown = await json("link", "show", String(l.id));
    expect(shown).toMatchObject({ id: l.id, type: "xdp", prog_id: xdp.info().id });
    if (hasTool("bpftool", ["version"])) {
      const theirs = bpftool("link", "show", "id", String(l.id));
      for (const k of ["id", "type", "prog_id"]) expect([k, shown[k]]).toEqual([k, theirs[k]]);
    }
    expect((await cli("link", "show", String(l.id))).out).toMatch(new RegExp(`^${l.id}: xdp  prog ${xdp.info().id}  ifindex \\d+`));
    const [net] = await json("net", "list", env.ifB, "--netns", env.b.name);
    expect(net.xdp.map((x: { id: number }) => x.id)).toEqual([xdp.info().id]);
    expect(net.tc).toEqual([{ devname: env.ifB, ifindex: expect.any(Number), kind: "clsact/egress", name: "cli_tc", id: tc.info().id, prio: 3, handle: 1, direct_action: true }]);
    expect(f.info()).toMatchObject({ priority: 3 });
    const list = (await json("link", "list")) as Array<{ id: number }>;
    expect(list.map((x) => x.id)).toContain(l.id);
    // link detach stops the program; the link object stays until closed.
    expect((await cli("link", "detach", String(l.id))).code).toBe(0);
    expect(queryXdp(env.ifB, env.b.name).attached).toBe("none");
  }, 30000);

  itKernel("net attach and detach: xdp by netlink, tcx by BPF_PROG_ATTACH and by a pinned link, tc filters", async () => {
    using env = new VethEnv();
    using xdp = retProgram("xdp", 2, "cli_nxdp");
    using cls = retProgram("sched_cls", 0, "cli_ncls");
    const ns = ["--netns", env.b.name];
    const xid = String(xdp.info().id);
    const cid = String(cls.info().id);
    expect((await cli("net", "attach", "xdpgeneric", xid, env.ifB, ...ns)).code).toBe(0);
    expect(queryXdp(env.ifB, env.b.name)).toMatchObject({ attached: "generic", programId: xdp.info().id });
    expect((await cli("net", "detach", "xdpgeneric", env.ifB, ...ns)).code).toBe(0);
    expect(queryXdp(env.ifB, env.b.name).attached).toBe("none");
    const nothing = await cli("net", "detach", "xdp", env.ifB, ...ns);
    expect(nothing.code).toBe(1);
    expect(nothing.err).toMatch(/no XDP program is attached/);

    expect((await cli("net", "attach", "tcx_ingress", cid, env.ifB, ...ns)).code).toBe(0);
    expect(queryTcx(env.ifB, "ingress", env.b.name).programIds).toEqual([cls.info().id]);
    expect((await json("net", "list", env.ifB, ...ns))[0].tc).toMatchObject([{ kind: "tcx/ingress", prog_id: cls.info().id, link_id: 0 }]);
    expect((await cli("net", "detach", "tcx_ingress", env.ifB, cid, ...ns)).code).toBe(0);
    expect(queryTcx(env.ifB, "ingress", env.b.name).programIds).toEqual([]);

    const pin = `/sys/fs/bpf/${uniqueName("clitcx")}`;
    try {
      expect((await cli("net", "attach", "tcx_egress", cid, env.ifB, "--pin", pin, ...ns)).code).toBe(0);
      const q = queryTcx(env.ifB, "egress", env.b.name);
      expect(q.programIds).toEqual([cls.info().id]);
      expect(q.linkIds[0]).toBeGreaterThan(0);
    } finally {
      rmSync(pin, { force: true });
    }
    // The pin held the link: removing it lets the link go, which the kernel finishes after the
    // inode is freed (deferred), so wait for that state rather than assume it at once.
    expect(await until(() => queryTcx(env.ifB, "egress", env.b.name).programIds.length === 0)).toBe(true);

    expect((await cli("net", "attach", "tc_ingress", cid, env.ifB, "--priority", "7", "--handle", "2", ...ns)).code).toBe(0);
    expect((await json("net", "list", env.ifB, ...ns))[0].tc).toMatchObject([{ kind: "clsact/ingress", prio: 7, handle: 2, id: cls.info().id }]);
    expect((await cli("net", "detach", "tc_ingress", env.ifB, "--priority", "7", "--handle", "2", ...ns)).code).toBe(0);
    expect((await json("net", "list", env.ifB, ...ns))[0].tc).toEqual([]);
  }, 30000);

  itKernel(`net attach, list and detach on a netkit pair (or, without CONFIG_NETKIT, the exact refusal: ${KNOWN_LIMITS.netkit.reason})`, async () => {
    using cls = retProgram("sched_cls", -1, "cli_nk"); // NETKIT_NEXT
    const cid = String(cls.info().id);
    const refusal = isRoot ? netkitRefusal() : undefined;
    const pin = `/sys/fs/bpf/${uniqueName("clink")}`;
    if (refusal) {
      // No netkit here: the pair is refused as probed, and the command fails the kernel's way on
      // any other device (EINVAL from BPF_LINK_CREATE) instead of pretending.
      using a = new TestNetns("tcnr");
      using b = new TestNetns("tcns");
      expect(() => createNetkit(a, b)).toThrow(expect.objectContaining({ code: refusal.code, kernelMessage: "Unknown device type" }));
      using env = new VethEnv();
      const ns = ["--netns", env.b.name];
      const r = await cli("net", "attach", "netkit_primary", cid, env.ifB, "--pin", pin, ...ns);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/EINVAL from BPF_LINK_CREATE \(the device is not a netkit device/);
      const [listed] = await json("net", "list", env.ifB, ...ns);
      expect(listed.tc).toEqual([]);
      const d = await cli("net", "detach", "netkit_peer", env.ifB, cid, ...ns);
      expect(d.code).toBe(1);
      expect(d.err).toMatch(/EINVAL/);
    } else {
      using a = new TestNetns("tcnk");
      using b = new TestNetns("tcnl");
      createNetkit(a, b);
      const ns = ["--netns", a.name];
      try {
        expect((await cli("net", "attach", "netkit_peer", cid, "nk0", "--pin", pin, ...ns)).code).toBe(0);
        const rows = (await json("net", "list", "nk0", ...ns))[0].tc as { kind: string; prog_id: number; link_id: number }[];
        expect(rows).toMatchObject([{ devname: "nk0", kind: "netkit/peer", prog_id: cls.info().id, link_id: expect.any(Number) }]);
        expect((await cli("net", "detach", "netkit_peer", "nk0", cid, ...ns)).code).toBe(0);
        expect((await json("net", "list", "nk0", ...ns))[0].tc).toEqual([]);
      } finally {
        rmSync(pin, { force: true });
      }
    }
    // A netkit attachment is a link: without a pin the command refuses before touching the kernel.
    const nopin = await cli("net", "attach", "netkit_peer", cid, "lo");
    expect(nopin.code).toBe(2);
    expect(nopin.err).toMatch(/give --pin PATH/);
  }, 30000);

  itKernel("cgroup attach, show (as bpftool shows it), tree and detach", async () => {
    using cg = new TestCgroup();
    using prog = retProgram("cgroup_skb", 1, "cli_cgskb", "cgroup_inet_egress");
    const id = prog.info().id;
    expect((await cli("cgroup", "attach", cg.path, "egress", String(id))).code).toBe(0);
    expect(queryCgroup(cg.path, "cgroup_inet_egress").programIds).toEqual([id]);
    const shown = await json("cgroup", "show", cg.path);
    expect(shown).toEqual([{ id, attach_type: "cgroup_inet_egress", attach_flags: "multi", name: "cli_cgskb", attach_btf_name: "", attach_btf_obj_id: 0, attach_btf_id: 0 }]);
    if (hasTool("bpftool", ["version"])) {
      const theirs = bpftool("cgroup", "show", cg.path) as { id: number; attach_type: string; name: string }[];
      expect(theirs.map((t) => [t.id, t.name])).toEqual([[id, "cli_cgskb"]]);
    }
    const tree = (await json("cgroup", "tree", cg.path)) as { cgroup: string; programs: { id: number }[] }[];
    expect(tree).toEqual([{ cgroup: cg.path, programs: shown }]);
    expect((await cli("cgroup", "detach", cg.path, "cgroup_inet_egress", String(id))).code).toBe(0);
    expect(queryCgroup(cg.path, "cgroup_inet_egress").programIds).toEqual([]);
    const bad = await cli("cgroup", "attach", cg.path, "nonsense", String(id));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/is not a cgroup attach type/);
  }, 30000);
});
