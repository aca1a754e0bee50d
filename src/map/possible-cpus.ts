/**
 * How many CPUs the kernel may ever bring up: per-CPU maps hold one value slot for each.
 */
import { readFileSync } from "node:fs";

/**
 * Parse a kernel CPU list such as "0-3,8,10-11" into the CPU numbers it names. Throws
 * RangeError for text that is not such a list.
 */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  const trimmed = text.trim();
  if (trimmed === "") return cpus;
  for (const part of trimmed.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`invalid CPU list ${JSON.stringify(text)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 1 << 20) throw new RangeError(`invalid CPU range "${part}" in ${JSON.stringify(text)}`);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  return cpus;
}

let cached: number | undefined;

/**
 * The number of possible CPUs, from /sys/devices/system/cpu/possible (read once). This is the
 * kernel's `num_possible_cpus()`, which sizes the userspace buffer of per-CPU map values.
 */
export function possibleCpus(): number {
  if (cached === undefined) {
    const n = parseCpuList(readFileSync("/sys/devices/system/cpu/possible", "utf8")).length;
    if (n < 1) throw new RangeError("/sys/devices/system/cpu/possible lists no CPU");
    cached = n;
  }
  return cached;
}
