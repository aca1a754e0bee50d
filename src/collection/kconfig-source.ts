/**
 * Where `.kconfig` values come from on this machine: the running kernel's config
 * (`/proc/config.gz`, else `/boot/config-$(uname -r)`) and its release. Read once per process.
 */
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";
import { parseKconfig, type KconfigFacts } from "../elf/kconfig.js";

let cached: KconfigFacts | undefined;

/** The running kernel's config and release; `config` is undefined when neither file is readable. */
export function runningKernelConfig(): KconfigFacts {
  if (cached) return cached;
  const rel = release();
  let text: string | undefined;
  try {
    text = gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    try {
      text = readFileSync(`/boot/config-${rel}`, "utf8");
    } catch {
      text = undefined;
    }
  }
  cached = { release: rel, config: text === undefined ? undefined : parseKconfig(text) };
  return cached;
}
