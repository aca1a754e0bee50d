import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { attachTc } from "../../src/link/tc.js";
import { attachXdp } from "../../src/link/xdp.js";
import { describeKernel, itKernel } from "./kit.js";
import { VethEnv } from "./net-env.js";
import { retProgram } from "./progs.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsbpf = (...args: string[]) =>
  execFileSync(process.execPath, [join(root, "node_modules/tsx/dist/cli.mjs"), join(root, "src/cli/main.ts"), ...args], { encoding: "utf8" });

describeKernel("tsbpf link", () => {
  itKernel("shows a link and what an interface has attached, as the library reports them", () => {
    using env = new VethEnv();
    using xdp = retProgram("xdp", 2, "cli_xdp");
    using tc = retProgram("sched_cls", 0, "cli_tc");
    using l = attachXdp(xdp, { interface: env.ifB, netns: env.b.name });
    using f = attachTc(tc, { interface: env.ifB, direction: "egress", netns: env.b.name, priority: 3 });
    const shown = JSON.parse(tsbpf("link", "show", String(l.id), "--json"));
    expect(shown).toEqual(JSON.parse(JSON.stringify(l.info())));
    expect(tsbpf("link", "show", String(l.id))).toMatch(new RegExp(`^${l.id}: xdp  prog ${xdp.info().id}  ifindex \\d+`));
    const net = JSON.parse(tsbpf("link", "net", env.ifB, "--netns", env.b.name, "--json"));
    expect(net.xdp.programId).toBe(xdp.info().id);
    expect(net.tc.egress).toEqual([{ priority: 3, handle: 1, kind: "bpf", programId: tc.info().id, name: "cli_tc", directAction: true }]);
    expect(f.info()).toMatchObject({ priority: 3 });
    const list = JSON.parse(tsbpf("link", "list", "--json")) as Array<{ id: number }>;
    expect(list.map((x) => x.id)).toContain(l.id);
  }, 30000);
});
