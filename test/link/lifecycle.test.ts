import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect } from "vitest";
import { isClosedError, isNotSupportedError } from "../../src/errors.js";
import { Link } from "../../src/link/link.js";
import { attachRawTracepoint } from "../../src/link/raw-tracepoint.js";
import { attachTracepoint } from "../../src/link/tracepoint.js";
import { attachSocketFilter } from "../../src/link/socket-filter.js";
import { attachXdp, queryXdp } from "../../src/link/xdp.js";
import { attachCgroup, queryCgroup } from "../../src/link/cgroup.js";
import { TestCgroup } from "./cgroup-env.js";
import { attachTc } from "../../src/link/tc.js";
import { Program } from "../../src/program/program.js";
import { SYS, syscall3 } from "../../src/sys/libc.js";
import { describeKernel, it, itKernel, } from "./kit.js";
import { openFdCount, uniqueName } from "../helpers/kernel.js";
import { VethEnv, udpReceiver } from "./net-env.js";
import { retProgram } from "./progs.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("Link is sealed", () => {
  it("recognises only links made by tsbpf", () => {
    expect(Link.is({ close() {}, type: "xdp" })).toBe(false);
    expect(Link.is(null)).toBe(false);
  });
});

describeKernel("pinned links outlive their process", () => {
  itKernel("a link pinned by a child that exited keeps running, reopens by pin and id, and goes when unpinned", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-pin-"));
    const pin = `/sys/fs/bpf/${uniqueName("tsbpf_pinlink")}`;
    try {
      const script = join(dir, "child.ts");
      writeFileSync(
        script,
        `import { attachRawTracepoint } from ${JSON.stringify(join(root, "src/link/raw-tracepoint.ts"))};
import { Program } from ${JSON.stringify(join(root, "src/program/program.ts"))};
import { exit, instructions, mov64 } from ${JSON.stringify(join(root, "src/asm/builder.ts"))};
const p = Program.load({ name: "pinned_rawtp", type: "raw_tracepoint", license: "GPL", instructions: instructions(mov64("r0", 0), exit()) });
const l = attachRawTracepoint(p, { name: "sys_enter" });
l.pin(${JSON.stringify(pin)});
console.log(JSON.stringify({ id: l.id, prog: p.info().id }));
`,
      );
      const out = execFileSync(process.execPath, [join(root, "node_modules/tsx/dist/cli.mjs"), script], { encoding: "utf8" });
      const { id, prog } = JSON.parse(out.trim().split("\n").pop()!) as { id: number; prog: number };
      using stats = Program.enableStats();
      using l = Link.open(pin);
      expect(l.id).toBe(id);
      expect(l.info()).toMatchObject({ type: "raw_tracepoint", tracepoint: "sys_enter", programId: prog });
      using p = Program.fromId(prog);
      const before = p.info().runCount;
      execFileSync("true");
      expect(p.info().runCount).toBeGreaterThan(before);
      expect(Link.list().find((x) => x.id === id)).toMatchObject({ type: "raw_tracepoint", programId: prog });
      using byId = Link.fromId(id);
      expect(byId.info().programId).toBe(prog);
      expect(stats.closed).toBe(false);
      unlinkSync(pin);
      l.close();
      byId.close();
      // No pin and no fd: the kernel frees the link (asynchronously, after an RCU grace period).
      const deadline = Date.now() + 3000;
      while (Link.ids().includes(id) && Date.now() < deadline) execFileSync("sleep", ["0.05"]);
      expect(Link.ids()).not.toContain(id);
    } finally {
      if (existsSync(pin)) unlinkSync(pin);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});

describeKernel("ownership", () => {
  itKernel("attach and close leak no fds, and a closed link refuses use", () => {
    using env = new VethEnv();
    using xdp = retProgram("xdp", 2, "own_xdp");
    using tc = retProgram("sched_cls", 0, "own_tc");
    using tp = retProgram("tracepoint", 0, "own_tp");
    using tp2 = retProgram("tracepoint", 0, "own_tp2"); // one program may sit on a tracepoint once
    using raw = retProgram("raw_tracepoint", 0, "own_raw");
    using sf = retProgram("socket_filter", 0, "own_sf");
    const sock = udpReceiver(0);
    try {
      const round = () => {
        const links = [
          attachXdp(xdp, { interface: env.ifB, netns: env.b.name }),
          attachXdp(xdp, { interface: env.ifA, netns: env.a.name, method: "netlink", mode: "generic" }),
          attachTc(tc, { interface: env.ifB, direction: "egress", netns: env.b.name }),
          attachTracepoint(tp, { category: "sched", name: "sched_switch" }),
          attachTracepoint(tp2, { category: "sched", name: "sched_switch", method: "ioctl" }),
          attachRawTracepoint(raw, { name: "sys_exit" }),
          attachSocketFilter(sf, { socket: sock }),
        ];
        for (const l of links) l.close();
        return links;
      };
      round(); // warm up lazy state (netlink buffers, tracefs lookups)
      const before = openFdCount();
      const links = round();
      round();
      expect(openFdCount()).toBe(before);
      for (const l of links) {
        expect(l.closed).toBe(true);
        let err: unknown;
        try {
          l.info();
        } catch (e) {
          err = e;
        }
        expect(isClosedError(err)).toBe(true);
        l.close(); // idempotent
      }
      // Legacy attachments cannot be pinned, and say so.
      const legacy = attachSocketFilter(sf, { socket: sock });
      try {
        let err: unknown;
        try {
          legacy.pin(`/sys/fs/bpf/${uniqueName("nope")}`);
        } catch (e) {
          err = e;
        }
        expect(isNotSupportedError(err)).toBe(true);
        expect(() => legacy.update(sf)).toThrow(/updating the program of a socket_filter attachment/);
      } finally {
        legacy.close();
      }
    } finally {
      syscall3(SYS.close, sock, 0, 0);
    }
  });
});

describeKernel("legacy attachments keep their program", () => {
  itKernel("closing the program first still lets netlink XDP and BPF_PROG_ATTACH links detach exactly their program", () => {
    using env = new VethEnv();
    const xdp = retProgram("xdp", 2, "keep_xdp");
    const xdpId = xdp.info().id;
    const lx = attachXdp(xdp, { interface: env.ifB, netns: env.b.name, method: "netlink", mode: "generic" });
    xdp.close(); // the attachment (and the Link's reference) keep the program alive
    expect(queryXdp(env.ifB, env.b.name).programId).toBe(xdpId);
    lx.close();
    expect(queryXdp(env.ifB, env.b.name).attached).toBe("none");

    using cg = new TestCgroup();
    const skb = retProgram("cgroup_skb", 1, "keep_skb");
    const skbId = skb.info().id;
    const lc = attachCgroup(skb, { cgroup: cg.path, attachType: "cgroup_inet_egress", method: "attach" });
    skb.close();
    expect(queryCgroup(cg.path, "cgroup_inet_egress").programIds).toEqual([skbId]);
    lc.close();
    expect(queryCgroup(cg.path, "cgroup_inet_egress").programIds).toEqual([]);
  });
});

