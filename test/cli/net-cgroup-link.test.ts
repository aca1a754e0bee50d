/**
 * `tsbpf net`, `tsbpf cgroup` and `tsbpf link` against the kernel, each answer compared with
 * bpftool's on the same objects: attach through the command, list with both tools (same ids,
 * names, devices, kinds), detach through the command, and both tools then show nothing. Every
 * namespace, pin and cgroup the test makes is removed in finally, even when an assertion fails.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { expect, it } from "vitest";
import { LINK_TYPES } from "../../src/sys/link-attr.js";
import { attachFlowDissector } from "../../src/link/netns.js";
import { queryTcx } from "../../src/link/tcx.js";
import { describeKernel, hasTool, itKernel, uniqueName } from "../helpers/kernel.js";
import { TestCgroup } from "../link/cgroup-env.js";
import { until } from "../link/net-env.js";
import { TestNetns } from "../link/netns.js";
import { retProgram } from "../link/progs.js";
import { cli } from "./run.js";

type Row = Record<string, unknown>;

const json = async (...args: string[]): Promise<any> => {
  const r = await cli(...args, "--json");
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
};
const ok = async (...args: string[]): Promise<void> => {
  const r = await cli(...args);
  expect([args.join(" "), r.err, r.code]).toEqual([args.join(" "), "", 0]);
};
const bpftool = (...args: string[]): any => JSON.parse(execFileSync("bpftool", ["-j", ...args], { encoding: "utf8" }));
/** bpftool inside a namespace: `net list` answers for the namespace it runs in. */
const bpftoolIn = (ns: string, ...args: string[]): any => JSON.parse(execFileSync("ip", ["netns", "exec", ns, "bpftool", "-j", ...args], { encoding: "utf8" }));
/** `o` cut down to the keys of `like`: what both tools print. */
const pick = (o: Row, like: Row): Row => Object.fromEntries(Object.keys(like).map((k) => [k, o[k]]));

/** bpftool's version as [major, minor] (`bpftool v7.1.0`). */
function bpftoolVersion(): [number, number] {
  const m = /v(\d+)\.(\d+)/.exec(execFileSync("bpftool", ["version"], { encoding: "utf8" }));
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

describeKernel("tsbpf net, cgroup and link compared with bpftool", () => {
  const withBpftool = hasTool("bpftool", ["version"]);
  // bpftool lists tcx (and netkit) programs from v7.3 on (Linux 6.6's tools); before, only
  // classic tc filters: tsbpf's tcx rows are then checked against the library's query instead.
  // Without bpftool (a developer's machine) there is nothing to compare with; CI has it (hasTool fails there).
  const itBpftool = withBpftool ? itKernel : it.skip;
  const bpftoolListsTcx = withBpftool && ((v) => v[0] > 7 || (v[0] === 7 && v[1] >= 3))(bpftoolVersion());

  itBpftool("net attach (xdp, tcx, tc; by netlink, BPF_PROG_ATTACH and pinned links), net list as bpftool lists it, detach to nothing", async () => {
    const pins: string[] = [];
    using netns = new TestNetns("tcn");
    using xdp = retProgram("xdp", 2, "cli2_xdp");
    using cls = retProgram("sched_cls", 0, "cli2_cls");
    using tcx = retProgram("sched_cls", 0, "cli2_tcx");
    using dissector = retProgram("flow_dissector", 0, "cli2_fd");
    try {
      netns.ip("link", "add", "va", "type", "veth", "peer", "name", "vb");
      netns.ip("link", "set", "va", "up");
      netns.ip("link", "set", "vb", "up");
      const ns = ["--netns", netns.name];
      const [xid, cid, tid] = [xdp, cls, tcx].map((p) => p.info().id);
      const xdpPin = `/sys/fs/bpf/${uniqueName("cli2x")}`;
      const tcxPin = `/sys/fs/bpf/${uniqueName("cli2t")}`;
      pins.push(xdpPin, tcxPin);
      await ok("net", "attach", "xdpgeneric", String(xid), "va", ...ns);
      await ok("net", "attach", "xdp", String(xid), "vb", "--pin", xdpPin, ...ns);
      await ok("net", "attach", "tcx_ingress", String(tid), "va", ...ns);
      await ok("net", "attach", "tcx_egress", String(tid), "vb", "--pin", tcxPin, ...ns);
      await ok("net", "attach", "tc_egress", String(cid), "va", "--priority", "5", "--handle", "3", ...ns);

      const [ours] = (await json("net", "list", ...ns)) as { xdp: Row[]; tc: Row[]; flow_dissector: Row[]; netfilter: Row[] }[];
      const [theirs] = bpftoolIn(netns.name, "net", "list") as Record<string, Row[]>[];
      for (const k of Object.keys(theirs!)) expect(Object.keys(ours!)).toContain(k);
      const index = (dev: string) => (JSON.parse(netns.ip("-j", "link", "show", dev)) as { ifindex: number }[])[0]!.ifindex;
      // XDP: one row per interface, the mode each is attached in (a link on a veth is native).
      expect(ours!.xdp).toEqual(theirs!.xdp);
      expect(ours!.xdp).toEqual(
        [
          { devname: "va", ifindex: index("va"), mode: "generic", id: xid },
          { devname: "vb", ifindex: index("vb"), mode: "driver", id: xid },
        ].sort((a, b) => a.ifindex - b.ifindex),
      );
      // Classic tc: bpftool's fields are the same, tsbpf adds prio/handle/direct_action.
      const classic = (rows: Row[]) => rows.filter((r) => String(r.kind).startsWith("clsact/"));
      expect(classic(theirs!.tc!)).toEqual([{ devname: "va", ifindex: index("va"), kind: "clsact/egress", name: "cli2_cls", id: cid }]);
      expect(classic(ours!.tc)).toEqual([{ devname: "va", ifindex: index("va"), kind: "clsact/egress", name: "cli2_cls", id: cid, prio: 5, handle: 3, direct_action: true }]);
      const tcxRows = (rows: Row[]) => rows.filter((r) => String(r.kind).startsWith("tcx/"));
      const vbLink = queryTcx("vb", "egress", netns.name).linkIds[0];
      expect(vbLink).toBeGreaterThan(0);
      expect(tcxRows(ours!.tc).sort((a, b) => Number(a.ifindex) - Number(b.ifindex))).toEqual(
        [
          { devname: "va", ifindex: index("va"), kind: "tcx/ingress", name: "cli2_tcx", prog_id: tid, prog_flags: [], link_id: 0, link_flags: [] },
          { devname: "vb", ifindex: index("vb"), kind: "tcx/egress", name: "cli2_tcx", prog_id: tid, prog_flags: [], link_id: vbLink, link_flags: [] },
        ].sort((a, b) => a.ifindex - b.ifindex),
      );
      if (bpftoolListsTcx) expect(tcxRows(ours!.tc)).toEqual(tcxRows(theirs!.tc!));
      else expect(tcxRows(theirs!.tc!)).toEqual([]);
      // The same rows in the same order where bpftool prints them (per device: tcx, then classic).
      const known = (rows: Row[]) => rows.filter((r) => bpftoolListsTcx || String(r.kind).startsWith("clsact/"));
      expect(known(ours!.tc).map((r, i) => pick(r, theirs!.tc![i] ?? {}))).toEqual(theirs!.tc);
      expect(ours!.flow_dissector).toEqual(theirs!.flow_dissector);
      // Text: bpftool's plain layout.
      const text = (await cli("net", "list", ...ns)).out;
      expect(text).toContain(`va(${index("va")}) generic id ${xid}\n`);
      expect(text).toContain(`va(${index("va")}) clsact/egress cli2_cls id ${cid} prio 5 handle 3 direct-action\n`);
      expect(text).toContain(`vb(${index("vb")}) tcx/egress cli2_tcx prog_id ${tid} link_id ${vbLink}\n`);
      // One interface only: what the whole list has for it.
      const [one] = await json("net", "list", "vb", ...ns);
      expect(one).toMatchObject({ xdp: ours!.xdp.filter((r) => r.devname === "vb"), tc: ours!.tc.filter((r) => r.devname === "vb") });

      // The namespace's flow dissector (no `net attach` kind: the library attaches it). Debian's
      // bpftool 7.1 prints broken JSON for it, so its text is compared, with tsbpf's text.
      {
        using _fd = attachFlowDissector(dissector, { netns: netns.name });
        const fid = dissector.info().id;
        expect((await json("net", "list", "va", ...ns))[0].flow_dissector).toEqual([{ id: fid }]);
        const theirText = execFileSync("ip", ["netns", "exec", netns.name, "bpftool", "net", "list"], { encoding: "utf8" });
        expect(theirText).toContain(`flow_dissector:\nid ${fid}\n`);
        expect((await cli("net", "list", ...ns)).out).toContain(`flow_dissector:\nid ${fid}\n`);
      }
      // Detach: the legacy kinds by `net detach`, the pinned links by `link detach`.
      await ok("net", "detach", "xdpgeneric", "va", ...ns);
      await ok("net", "detach", "tcx_ingress", "va", String(tid), ...ns);
      await ok("net", "detach", "tc_egress", "va", "--priority", "5", "--handle", "3", ...ns);
      const xdpLink = (await json("link", "show", xdpPin)) as Row;
      expect(xdpLink).toMatchObject({ type: "xdp", prog_id: xid, ifindex: index("vb") });
      await ok("link", "detach", String(xdpLink.id));
      await ok("link", "detach", tcxPin);
      const [after] = await json("net", "list", ...ns);
      // (netfilter links are system-wide, and other tests may make some meanwhile: not compared here.)
      expect([after.xdp, after.tc, after.flow_dissector]).toEqual([[], [], []]);
      const [theirsAfter] = bpftoolIn(netns.name, "net", "list");
      expect([theirsAfter.xdp, theirsAfter.tc]).toEqual([[], []]);
      const bad = await cli("net", "list", "nosuch0", ...ns);
      expect([bad.code, bad.err]).toEqual([2, expect.stringMatching(/no interface "nosuch0" in network namespace/)]);
    } finally {
      for (const p of pins) rmSync(p, { force: true });
    }
  }, 60000);

  itBpftool("cgroup attach (BPF_PROG_ATTACH and a pinned link), show as bpftool shows it, detach to nothing", async () => {
    const pin = `/sys/fs/bpf/${uniqueName("cli2c")}`;
    using cg = new TestCgroup();
    using egress = retProgram("cgroup_skb", 1, "cli2_egress", "cgroup_inet_egress");
    using ingress = retProgram("cgroup_skb", 1, "cli2_ingress", "cgroup_inet_ingress");
    try {
      const [eid, iid] = [egress, ingress].map((p) => p.info().id);
      await ok("cgroup", "attach", cg.path, "egress", String(eid));
      await ok("cgroup", "attach", cg.path, "cgroup_inet_ingress", String(iid), "--pin", pin);
      const ours = (await json("cgroup", "show", cg.path)) as Row[];
      const theirs = bpftool("cgroup", "show", cg.path) as Row[];
      const byId = (rows: Row[]) => [...rows].sort((a, b) => Number(a.id) - Number(b.id));
      expect(byId(ours).map((r, i) => pick(r, byId(theirs)[i]!))).toEqual(byId(theirs));
      expect(byId(ours)).toEqual(
        byId([
          { id: eid, attach_type: "cgroup_inet_egress", attach_flags: "multi", name: "cli2_egress", attach_btf_name: "", attach_btf_obj_id: 0, attach_btf_id: 0 },
          // A link attaches with BPF_F_ALLOW_MULTI, so the hook reports multi for it too.
          { id: iid, attach_type: "cgroup_inet_ingress", attach_flags: "multi", name: "cli2_ingress", attach_btf_name: "", attach_btf_obj_id: 0, attach_btf_id: 0 },
        ]),
      );
      expect(theirs.map((r) => r.attach_type).sort()).toEqual(["cgroup_inet_egress", "cgroup_inet_ingress"].sort());
      await ok("cgroup", "detach", cg.path, "egress", String(eid));
      await ok("link", "detach", pin);
      expect(await json("cgroup", "show", cg.path)).toEqual([]);
      // bpftool prints no JSON at all (not even []) for a cgroup without programs: an empty line.
      expect(execFileSync("bpftool", ["-j", "cgroup", "show", cg.path], { encoding: "utf8" }).trim()).toBe("");
    } finally {
      rmSync(pin, { force: true });
    }
  }, 60000);

  itBpftool("link list, show, pin and detach give what bpftool shows for the same links", async () => {
    const pins: string[] = [];
    using netns = new TestNetns("tcl");
    using xdp = retProgram("xdp", 2, "cli2_lxdp");
    using tcx = retProgram("sched_cls", 0, "cli2_ltcx");
    try {
      netns.ip("link", "add", "va", "type", "veth", "peer", "name", "vb");
      const ns = ["--netns", netns.name];
      const [xPin, tPin, again] = ["cli2lx", "cli2lt", "cli2lp"].map((p) => `/sys/fs/bpf/${uniqueName(p)}`);
      pins.push(xPin!, tPin!, again!);
      await ok("net", "attach", "xdpgeneric", String(xdp.info().id), "va", "--pin", xPin!, ...ns);
      await ok("net", "attach", "tcx_ingress", String(tcx.info().id), "vb", "--pin", tPin!, ...ns);
      const x = (await json("link", "show", xPin!)) as Row;
      const t = (await json("link", "show", tPin!)) as Row;
      expect(x).toMatchObject({ type: "xdp", prog_id: xdp.info().id });
      expect(t).toMatchObject({ type: "tcx", prog_id: tcx.info().id, attach_type: "tcx_ingress" });
      // bpftool's row for each: same id, program and every other fact both print. A link type
      // this bpftool is too old to name it prints as the kernel's number.
      const same = (ours: Row, theirs: Row) => {
        const { type, ...rest } = theirs;
        expect(pick(ours, rest)).toEqual(rest);
        expect(typeof type === "number" ? LINK_TYPES[ours.type as keyof typeof LINK_TYPES] : ours.type).toBe(type);
      };
      const listed = (await json("link", "list")) as Row[];
      const theirList = bpftool("link", "show") as Row[];
      for (const l of [x, t]) {
        expect(listed.find((r) => r.id === l.id)).toEqual(l);
        same(l, theirList.find((r) => r.id === l.id)!);
        same((await json("link", "show", String(l.id))) as Row, bpftool("link", "show", "id", String(l.id)));
      }
      // pin: bpftool finds the link under the new path too.
      await ok("link", "pin", String(t.id), again!);
      expect(bpftool("-f", "link", "show", "id", String(t.id)).pinned).toEqual(expect.arrayContaining([tPin, again]));
      expect((await json("link", "show", again!)).id).toBe(t.id);
      // detach: the programs leave their hooks (both tools); the pinned links stay until unpinned.
      await ok("link", "detach", String(x.id));
      await ok("link", "detach", again!);
      const [after] = await json("net", "list", ...ns);
      expect([after.xdp, after.tc]).toEqual([[], []]);
      const [theirsAfter] = bpftoolIn(netns.name, "net", "list");
      expect([theirsAfter.xdp, theirsAfter.tc]).toEqual([[], []]);
      expect(queryTcx("vb", "ingress", netns.name).programIds).toEqual([]);
      for (const p of pins) rmSync(p, { force: true });
      // Unpinned and closed: the links are gone from both lists (the kernel frees them deferred).
      const gone = () => !(bpftool("link", "show") as Row[]).some((r) => r.id === x.id || r.id === t.id);
      expect(await until(gone)).toBe(true);
      const ids = ((await json("link", "list")) as Row[]).map((r) => r.id);
      expect(ids).not.toContain(x.id);
      expect(ids).not.toContain(t.id);
      const missing = await cli("link", "show", xPin!);
      expect(missing.code).toBe(1);
    } finally {
      for (const p of pins) rmSync(p, { force: true });
    }
  }, 60000);
});
