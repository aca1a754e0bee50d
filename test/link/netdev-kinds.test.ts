import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { afterAll, beforeAll, expect } from "vitest";
import { call, exit, instructions, mov64, st } from "../../src/asm/builder.js";
import { attachTcx } from "../../src/link/tcx.js";
import { Program, type StatsHandle } from "../../src/program/program.js";
import { attachNetfilter, queryNetfilter } from "../../src/link/netfilter.js";
import { attachCgroup, queryCgroup } from "../../src/link/cgroup.js";
import { attachSocketFilter } from "../../src/link/socket-filter.js";
import { attachFlowDissector, attachSkLookup, queryNetns } from "../../src/link/netns.js";
import { errno, NativeMemory, SYS, syscall3, syscall5 } from "../../src/sys/libc.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { TestCgroup, udpSenderScript } from "./cgroup-env.js";
import { sockaddrIn, udpReceiver, VethEnv } from "./net-env.js";
import { retProgram, runs } from "./progs.js";

let stats: StatsHandle;
beforeAll(() => {
  if (process.getuid?.() === 0) stats = Program.enableStats();
});
afterAll(() => stats?.close());

function bpftoolLink(id: number): unknown {
  return JSON.parse(execFileSync("bpftool", ["-j", "link", "show", "id", String(id)], { encoding: "utf8" }));
}

describeKernel("netfilter", () => {
  itKernel("runs at local_in of a test namespace, is listed with its hook, and stops after close", () => {
    using env = new VethEnv();
    using prog = retProgram("netfilter", 1, "nf_accept", "netfilter"); // NF_ACCEPT
    const link = attachNetfilter(prog, { family: "ipv4", hook: "local_in", priority: 10, netns: env.b.name });
    try {
      expect(link.info()).toMatchObject({ type: "netfilter", pf: 2, hooknum: 1, priority: 10, programId: prog.info().id });
      expect(queryNetfilter().find((l) => l.id === link.id)).toMatchObject({ pf: 2, hooknum: 1, priority: 10 });
      expect(bpftoolLink(link.id!)).toMatchObject({ id: link.id, type: 10, prog_id: prog.info().id });
      const before = runs(prog);
      env.sendUdp(12);
      expect(runs(prog) - before).toBe(12n);
    } finally {
      link.close();
    }
    const after = runs(prog);
    env.sendUdp(5);
    expect(runs(prog)).toBe(after);
    expect(() => attachNetfilter(prog, { family: "ipv4", hook: "local_in", priority: 0x7fffffff })).toThrow(TypeError);
    expect(() => attachNetfilter(prog, { family: "ipx" as never, hook: "local_in", priority: 1 })).toThrow(/family/);
  });
});

describeKernel("cgroup", () => {
  itKernel("cgroup_skb egress by link counts a child's packets; by BPF_PROG_ATTACH too; both detach", () => {
    using cg = new TestCgroup();
    using prog = retProgram("cgroup_skb", 1, "cg_allow");
    for (const method of ["link", "attach"] as const) {
      const link = attachCgroup(prog, { cgroup: cg.path, attachType: "cgroup_inet_egress", method });
      try {
        expect(link.isBpfLink).toBe(method === "link");
        const q = queryCgroup(cg.path, "cgroup_inet_egress");
        expect(q.programIds).toEqual([prog.info().id]);
        if (method === "attach") expect(q.attachFlags).toBe(2); // BPF_F_ALLOW_MULTI
        else expect(link.info()).toMatchObject({ type: "cgroup", attachType: "cgroup_inet_egress" });
        const before = runs(prog);
        cg.runNode(udpSenderScript(9, 8));
        expect(runs(prog) - before).toBeGreaterThanOrEqual(8n);
      } finally {
        link.close();
      }
      expect(queryCgroup(cg.path, "cgroup_inet_egress").programIds).toEqual([]);
      const after = runs(prog);
      cg.runNode(udpSenderScript(9, 3));
      expect(runs(prog)).toBe(after);
    }
  });

  itKernel("cgroup_inet4_connect rewrites the port a child connects to", async () => {
    using cg = new TestCgroup();
    const server = createSocket("udp4");
    await new Promise<void>((r) => server.bind(0, "127.0.0.1", r));
    const realPort = server.address().port;
    const fakePort = realPort === 65535 ? 65534 : realPort + 1;
    // user_port (offset 24 of struct bpf_sock_addr) holds the port in network byte order.
    const nbo = ((realPort & 0xff) << 8) | (realPort >> 8);
    using prog = Program.load({
      name: "cg_connect",
      type: "cgroup_sock_addr",
      expectedAttachType: "cgroup_inet4_connect",
      license: "GPL",
      instructions: instructions(st("u32", "r1", 24, nbo), mov64("r0", 1), exit()),
    });
    const got = new Promise<string>((resolve) => server.once("message", (m) => resolve(m.toString())));
    const link = attachCgroup(prog, { cgroup: cg.path, attachType: "cgroup_inet4_connect" });
    try {
      cg.runNode(`const s=require("dgram").createSocket("udp4");s.connect(${fakePort},"127.0.0.1",()=>s.send("rewritten",()=>s.close()))`);
      expect(await got).toBe("rewritten");
    } finally {
      link.close();
      server.close();
    }
  });
});

describeKernel("socket filter", () => {
  itKernel("drops what a socket would receive until closed", () => {
    const rx = udpReceiver(0);
    try {
      const sa = new NativeMemory(16);
      const len = new NativeMemory(4);
      len.view.setUint32(0, 16, true);
      expect(syscall3(SYS.getsockname, rx, sa.address, len.address)).toBe(0);
      const port = sa.view.getUint16(2, false);
      const tx = syscall3(SYS.socket, 2, 2 | 0o2000000, 0);
      const dst = sockaddrIn("127.0.0.1", port);
      expect(syscall3(42, tx, dst.address, 16)).toBe(0);
      const buf = new NativeMemory(64);
      const send = () => expect(syscall3(SYS.write, tx, buf.address, 8)).toBe(8);
      const recv = () => syscall5(SYS.recvfrom, rx, buf.address, 64, 0x40 /* MSG_DONTWAIT */, 0);
      using prog = retProgram("socket_filter", 0, "sf_drop");
      const link = attachSocketFilter(prog, { socket: rx });
      try {
        const before = runs(prog);
        for (let i = 0; i < 5; i++) send();
        expect(runs(prog) - before).toBe(5n);
        expect(recv()).toBe(-1);
        expect(errno()).toBe(11); // EAGAIN: all five were dropped
      } finally {
        link.close();
      }
      send();
      expect(recv()).toBe(8);
      syscall3(SYS.close, tx, 0, 0);
    } finally {
      syscall3(SYS.close, rx, 0, 0);
    }
  });
});

describeKernel("network namespace programs", () => {
  itKernel("sk_lookup runs for every UDP lookup in the namespace and detaches", () => {
    using env = new VethEnv();
    using prog = retProgram("sk_lookup", 1, "sk_pass", "sk_lookup"); // SK_PASS without a socket: normal lookup
    const link = attachSkLookup(prog, { netns: env.b.name });
    try {
      expect(link.info()).toMatchObject({ type: "netns", attachType: "sk_lookup" });
      expect(queryNetns("sk_lookup", env.b.name)).toEqual([prog.info().id]);
      const before = runs(prog);
      env.sendUdp(6);
      expect(runs(prog) - before).toBeGreaterThanOrEqual(6n);
    } finally {
      link.close();
    }
    expect(queryNetns("sk_lookup", env.b.name)).toEqual([]);
  });

  itKernel("flow_dissector dissects received packets in its namespace, bpftool net lists it, and it detaches", () => {
    using env = new VethEnv();
    using prog = retProgram("flow_dissector", 0, "fd_ok");
    // A tcx program that drops the packet hash the sender set and asks for it again makes the kernel
    // dissect every received packet, with the namespace's flow dissector.
    using rehash = Program.load({ name: "rehash", type: "sched_cls", license: "GPL", instructions: instructions(mov64("r6", "r1"), call("set_hash_invalid"), mov64("r1", "r6"), call("get_hash_recalc"), mov64("r0", -1), exit()) });
    using hashing = attachTcx(rehash, { interface: env.ifB, direction: "ingress", netns: env.b.name });
    expect(hashing.isBpfLink).toBe(true);
    const link = attachFlowDissector(prog, { netns: env.b.name });
    try {
      expect(queryNetns("flow_dissector", env.b.name)).toEqual([prog.info().id]);
      const before = runs(prog);
      env.sendUdp(5);
      expect(runs(prog) - before).toBeGreaterThanOrEqual(5n);
      // Debian's bpftool 7.1 prints broken JSON for flow dissectors: read its text output.
      const shown = execFileSync("ip", ["netns", "exec", env.b.name, "bpftool", "net", "show"], { encoding: "utf8" });
      expect(shown).toContain(`flow_dissector:\nid ${prog.info().id}\n`);
      expect(() => attachFlowDissector(prog, { netns: env.b.name })).toThrow(/E2BIG from BPF_LINK_CREATE \(the namespace already has/);
    } finally {
      link.close();
    }
    expect(queryNetns("flow_dissector", env.b.name)).toEqual([]);
    const after = runs(prog);
    env.sendUdp(3);
    expect(runs(prog)).toBe(after);
  });
});
