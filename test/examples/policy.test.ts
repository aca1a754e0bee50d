import { execFileSync, spawn } from "node:child_process";
import { expect } from "vitest";
import { describeKernel, itKernel } from "../helpers/kernel.js";

interface Run {
  out: string;
  err: string;
  code: number | null;
}

/** Run the example; `onOutput(out, stop)` sees everything printed so far, and can send Ctrl-C. */
function run(args: string[], onOutput: (out: string, stop: () => void) => void = () => {}): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    onOutput(out, () => child.kill("SIGINT"));
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ out, err, code })));
}

interface Phase {
  action: string;
  /** UDP datagrams sent and received, by endpoint. */
  udp: Record<string, [number, number]>;
  tcp: string;
  /** Drop counters of rules 0, 1, 2 after the phase. */
  drops: number[];
}

/** Each "phase N" block of the output, in order. */
function phases(out: string): Phase[] {
  return out.split(/^(?=phase \d)/m).slice(1).map((block) => {
    const action = /^phase \d: rule 1 \(identity 200 -> udp\/8080\) set to (allow|deny)$/m.exec(block)?.[1] ?? "?";
    const udp = Object.fromEntries(
      [...block.matchAll(/^ {2}(frontend|other) +-> server udp\/8080: sent (\d+), received (\d+)$/gm)].map((m): [string, [number, number]] => [m[1] ?? "?", [Number(m[2]), Number(m[3])]]),
    );
    const tcp = /^ {2}frontend +-> server tcp\/8080: (connected|timed out)$/m.exec(block)?.[1] ?? "?";
    const drops = /^ {2}drops: rule 0 = (\d+), rule 1 = (\d+), rule 2 = (\d+)$/m.exec(block)?.slice(1).map(Number) ?? [];
    return { action, udp, tcp, drops };
  });
}

/** The lab's namespaces, from the line the example prints once it is built. */
function labNamespaces(out: string): string[] {
  const m = /^lab: server netns (\S+); frontend netns (\S+) 10\.78\.1\.2 identity 200; other netns (\S+) 10\.78\.2\.2 identity 300$/m.exec(out);
  expect(m, "the lab line").not.toBeNull();
  return m?.slice(1) ?? [];
}

function leftBehind(namespaces: string[]): string[] {
  const all = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return namespaces.filter((n) => all.includes(n));
}

describeKernel("examples/policy", () => {
  itKernel("passes the frontend's datagrams while rule 1 allows, drops exactly what it sent under rule 1 after the live update to deny, passes them again, and removes its lab", async () => {
    const n = 7;
    const r = await run(["examples/run.ts", "policy", "--pause", "0", "--packets", String(n)]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const namespaces = labNamespaces(r.out);
    expect(r.out).toMatch(/^attached with tcx to the ingress of \S+ and \S+ in \S+$/m);

    const [p1, p2, p3, ...rest] = phases(r.out);
    expect(rest).toEqual([]);
    // Rule 1 allows: every datagram of the frontend arrives; "other" (identity 300) has no rule
    // and each of its datagrams is dropped under the default deny, rule 0.
    expect(p1).toEqual({ action: "allow", udp: { frontend: [n, n], other: [n, 0] }, tcp: "connected", drops: [n, 0, 0] });
    // Rule 1 denies: none arrives, and rule 1's counter rises by exactly what was sent. TCP to
    // the same port still connects: the protocol is part of the key (rule 2 allows it).
    expect(p2).toEqual({ action: "deny", udp: { frontend: [n, 0], other: [n, 0] }, tcp: "connected", drops: [2 * n, n, 0] });
    // Allowed again: all arrive, rule 1's counter stays.
    expect(p3).toEqual({ action: "allow", udp: { frontend: [n, n], other: [n, 0] }, tcp: "connected", drops: [3 * n, n, 0] });

    expect(r.out).toMatch(new RegExp(`^0 +default deny \\(no rule matches\\) +deny +${3 * n}\n1 +identity 200 -> udp/8080 +allow +${n}\n2 +identity 200 -> tcp/8080 +allow +0$`, "m"));
    expect(r.out).toMatch(/stopped; removing netns \S+, \S+, \S+\n$/);
    expect(leftBehind(namespaces)).toEqual([]);
  }, 60_000);

  itKernel("attached with classic tc, Ctrl-C during the pause after phase 1 stops it through its AbortSignal and removes the lab", async () => {
    let stopped = false;
    const r = await run(["examples/policy/policy.ts", "--attach", "tc", "--pause", "30", "--packets", "3"], (out, stop) => {
      if (!stopped && /^ {2}drops: /m.test(out)) {
        stopped = true;
        stop();
      }
    });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const namespaces = labNamespaces(r.out);
    expect(r.out).toMatch(/^attached with tc to the ingress of \S+ and \S+ in \S+$/m);
    expect(phases(r.out)).toEqual([{ action: "allow", udp: { frontend: [3, 3], other: [3, 0] }, tcp: "connected", drops: [3, 0, 0] }]);
    expect(r.out).not.toMatch(/^RULE/m);
    expect(r.out).toMatch(/\n {2}drops: [^\n]*\nstopped; removing netns \S+, \S+, \S+\n$/);
    expect(leftBehind(namespaces)).toEqual([]);
  }, 60_000);
});
