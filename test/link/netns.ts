/**
 * Test network namespaces: created with `ip netns add`, removed in `remove()` (call it in a
 * finally/afterEach). Interfaces inside are removed with the namespace.
 */
import { execFileSync } from "node:child_process";
import { uniqueName } from "../helpers/kernel.js";

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export class TestNetns implements Disposable {
  readonly name: string;
  constructor(prefix = "tsl") {
    this.name = uniqueName(prefix).slice(0, 15);
    sh("ip", ["netns", "add", this.name]);
  }
  /** Run `ip` inside the namespace (`ip -n NAME ...`). */
  ip(...args: string[]): string {
    return sh("ip", ["-n", this.name, ...args]);
  }
  remove(): void {
    try {
      sh("ip", ["netns", "del", this.name]);
    } catch {
      // already gone
    }
  }
  [Symbol.dispose](): void {
    this.remove();
  }
}
