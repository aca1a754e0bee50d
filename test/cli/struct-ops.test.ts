/** `tsbpf struct_ops` against the kernel: register a TCP congestion control, list it, unregister it. */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { describeKernel, hasTool, itKernel, uniqueName } from "../helpers/kernel.js";
import { cli, ROOT } from "./run.js";

const available = () => readFileSync("/proc/sys/net/ipv4/tcp_available_congestion_control", "utf8").trim().split(/\s+/);

describeKernel("tsbpf struct_ops", () => {
  itKernel("register (by a pinned link), list as bpftool does, unregister by name", async () => {
    const dir = `/sys/fs/bpf/${uniqueName("clisops")}`;
    try {
      const refused = await cli("struct_ops", "register", join(ROOT, "bpf/cli/struct_ops_cc.o"));
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(/registered by a link: give --pin DIR/);
      const r = await cli("struct_ops", "register", join(ROOT, "bpf/cli/struct_ops_cc.o"), "--pin", dir, "-j");
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const [reg] = JSON.parse(r.out) as { name: string; id: number; link_id: number; pinned: string }[];
      expect(reg).toMatchObject({ name: "tsbpf_cc", pinned: join(dir, "tsbpf_cc") });
      expect(available()).toContain("tsbpf_cli_cc");
      const listed = (JSON.parse((await cli("struct_ops", "list", "-j")).out) as { id: number; name: string; kernel_struct_ops: string }[]).find((m) => m.id === reg.id);
      expect(listed).toEqual({ id: reg.id, name: "tsbpf_cc", kernel_struct_ops: "tcp_congestion_ops" });
      if (hasTool("bpftool", ["version"])) {
        const theirs = JSON.parse(execFileSync("bpftool", ["-j", "struct_ops", "show", "id", String(reg.id)], { encoding: "utf8" })) as Record<string, unknown>;
        expect({ id: theirs.id, name: theirs.name, kernel_struct_ops: theirs.kernel_struct_ops }).toEqual(listed);
      }
      const u = await cli("struct_ops", "unregister", "id", String(reg.id));
      expect(u.code).toBe(0);
      expect(available()).not.toContain("tsbpf_cli_cc");
      const again = await cli("struct_ops", "unregister", "name", uniqueName("nosuch"));
      expect(again.code).toBe(1);
      expect(again.err).toMatch(/no struct_ops map has name/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
