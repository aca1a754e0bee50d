import { execFileSync, spawn } from "node:child_process";
import { expect } from "vitest";
import { describeKernel, itKernel } from "../helpers/kernel.js";

interface Run {
  out: string;
  err: string;
  code: number | null;
}

/** Run the example; `onLab(a, b, child)` is called once with its namespaces when it prints them. */
function run(args: string[], onLab: (a: string, b: string, kill: () => void) => void): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let seen = false;
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    const m = /^lab: netns (\S+) .* <-> netns (\S+) /m.exec(out);
    if (!seen && m !== null) {
      seen = true;
      onLab(m[1]!, m[2]!, () => child.kill("SIGINT"));
    }
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ out, err, code })));
}

/** The last table printed: protocol → [packets, bytes]. */
function lastTable(out: string): Map<string, [number, number]> {
  const rows = out.split("\n").filter((l) => /^(tcp|udp|icmp|other) +\d+ +\d+$/.test(l)).slice(-4);
  expect(rows.map((r) => r.split(/ +/)[0])).toEqual(["tcp", "udp", "icmp", "other"]);
  return new Map(rows.map((r) => { const [p, n, b] = r.split(/ +/); return [p!, [Number(n), Number(b)]]; }));
}

function leftBehind(names: string[]): string[] {
  const all = execFileSync("ip", ["netns", "list"], { encoding: "utf8" }) + execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
  return names.filter((n) => all.includes(n));
}

describeKernel("examples/xdp-counter", () => {
  itKernel("counts exactly the UDP datagrams the test sends into its lab, 142 bytes each on the wire, and removes the lab", async () => {
    let names: string[] = [];
    const r = await run(["examples/run.ts", "xdp-counter", "--no-traffic", "--count", "3"], (a, b) => {
      names = [a, b, `xa${a.slice(5, -2)}`, `xb${a.slice(5, -2)}`];
      // 20 datagrams of 100 bytes from b to a's closed port 7777: 14 + 20 + 8 + 100 bytes each.
      // The first waits for ARP alone (the kernel queues only a few packets for an unresolved neighbour).
      const send = "printf '%100s' > /dev/udp/10.77.0.1/7777";
      execFileSync("ip", ["netns", "exec", b, "bash", "-c", `${send}; sleep 0.3; for i in $(seq 19); do ${send}; done`]);
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out.match(/^PROTO +PACKETS +BYTES$/gm)).toHaveLength(3);
    const t = lastTable(r.out);
    expect(t.get("udp")).toEqual([20, 20 * 142]);
    expect(t.get("tcp")).toEqual([0, 0]);
    expect(names).toHaveLength(4);
    expect(r.out).toMatch(/stopped; removing netns \S+ and \S+\n$/);
    expect(leftBehind(names)).toEqual([]);
  }, 30_000);

  itKernel("with its own traffic sees TCP, UDP, ICMP and other (ARP) packets, and Ctrl-C stops it and removes the lab", async () => {
    let names: string[] = [];
    const r = await run(["examples/xdp-counter/xdp-counter.ts"], (a, b, kill) => {
      names = [a, b];
      setTimeout(kill, 3500);
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const t = lastTable(r.out);
    for (const p of ["tcp", "udp", "icmp", "other"]) {
      const [packets, bytes] = t.get(p)!;
      expect(packets, p).toBeGreaterThan(0);
      expect(bytes, p).toBeGreaterThanOrEqual(packets * 42); // no frame is smaller than Ethernet + ARP
    }
    // three UDP datagrams of 100 bytes a second, nothing else UDP
    const [udp, udpBytes] = t.get("udp")!;
    expect(udp % 3).toBe(0);
    expect(udpBytes).toBe(udp * 142);
    expect(leftBehind(names)).toEqual([]);
  }, 30_000);
});
