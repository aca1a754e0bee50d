/** A test cgroup v2 directory and child processes that run inside it. */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, rmdirSync } from "node:fs";
import { uniqueName } from "../helpers/kernel.js";

export const CGROUP2_ROOT = "/sys/fs/cgroup/unified";

export class TestCgroup implements Disposable {
  readonly path: string;
  constructor() {
    this.path = `${CGROUP2_ROOT}/${uniqueName("tsbpf_cg")}`;
    mkdirSync(this.path);
  }
  /** Run `node -e script` as a process inside the cgroup; returns its stdout. Throws on failure. */
  runNode(script: string): string {
    const r = spawnSync("sh", ["-c", `echo $$ > ${this.path}/cgroup.procs && exec "${process.execPath}" -e "$0"`, script], { encoding: "utf8", timeout: 20000 });
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  }
  remove(): void {
    try {
      rmdirSync(this.path);
    } catch {
      // a child may still be exiting: try once more after it is reaped
      try {
        execFileSync("sleep", ["0.2"]);
        rmdirSync(this.path);
      } catch {}
    }
  }
  [Symbol.dispose](): void {
    this.remove();
  }
}

/** A node script that sends `n` UDP datagrams to 127.0.0.1:port and exits. */
export function udpSenderScript(port: number, n: number, payload = "x"): string {
  return `const s=require("dgram").createSocket("udp4");let i=0;const go=()=>{if(i++>=${n})return s.close();s.send(${JSON.stringify(payload)},${port},"127.0.0.1",go)};go();`;
}
