/**
 * Addresses of kernel symbols from `/proc/kallsyms`, for untyped `__ksym` externs
 * (`extern const void bpf_prog_active __ksym;`). The file is large (120k lines here, ~50 ms for
 * the kernel to produce), so it is read in one streaming pass that keeps only the names asked
 * for, and the answers are cached for the process: asking again for known names reads nothing.
 * The whole file is read, because a name can appear more than once (static symbols) and then
 * no single address is right. A plain file read: no bpf(2).
 */
import { closeSync, openSync, readSync } from "node:fs";
import { TsbpfError } from "../../errors.js";

/** Where the kernel lists its symbols. */
export const KALLSYMS_PATH = "/proc/kallsyms";

/** Answers so far, per file read. */
const caches = new Map<string, { found: Map<string, bigint>; missing: Set<string> }>();

/**
 * The addresses of `names` (absent names are left out of the map). Reads `/proc/kallsyms` once
 * for every name not asked before. Throws TsbpfError when the file cannot be read, or when it
 * shows every address as 0 (kptr_restrict, or not root), since 0 would be a wrong answer, or
 * when a name has several addresses.
 */
export function kallsymsLookup(names: Iterable<string>, path = KALLSYMS_PATH): Map<string, bigint> {
  let cache = caches.get(path);
  if (!cache) caches.set(path, (cache = { found: new Map(), missing: new Set() }));
  const { found, missing } = cache;
  names = [...names];
  const want = new Set<string>();
  for (const n of names) if (!found.has(n) && !missing.has(n)) want.add(n);
  if (want.size > 0) scan(want, path, found, missing);
  const out = new Map<string, bigint>();
  for (const n of names) {
    const a = found.get(n);
    if (a !== undefined) out.set(n, a);
  }
  return out;
}

function scan(want: Set<string>, path: string, found: Map<string, bigint>, missing: Set<string>): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new TsbpfError(`ksym: read ${path}: ${(e as Error).message} (untyped __ksym externs need /proc/kallsyms)`, { cause: e });
  }
  const hits = new Map<string, bigint>();
  const ambiguous = new Map<string, bigint[]>();
  let sawNonZero = false;
  try {
    const buf = Buffer.allocUnsafe(1 << 16);
    let rest = "";
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      const text = rest + buf.toString("latin1", 0, n);
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        // "ffffffff81000000 T _stext" or "... t name\t[module]"
        const s1 = line.indexOf(" ");
        const s2 = line.indexOf(" ", s1 + 1);
        if (s1 < 0 || s2 < 0) continue;
        let end = line.indexOf("\t", s2 + 1);
        if (end < 0) end = line.length;
        const name = line.slice(s2 + 1, end);
        if (!sawNonZero && !/^0+$/.test(line.slice(0, s1))) sawNonZero = true;
        if (!want.has(name)) continue;
        const addr = BigInt(`0x${line.slice(0, s1)}`);
        const prev = hits.get(name);
        if (prev !== undefined && prev !== addr) ambiguous.set(name, [...(ambiguous.get(name) ?? [prev]), addr]);
        hits.set(name, prev ?? addr);
      }
    }
  } finally {
    closeSync(fd);
  }
  if (!sawNonZero) {
    throw new TsbpfError(`ksym: ${path} shows every address as 0 (kernel.kptr_restrict or missing CAP_SYSLOG); run as root`);
  }
  for (const [n, addrs] of ambiguous) {
    // Several static symbols share the name: any one address would be a guess (libbpf refuses too).
    throw new TsbpfError(
      `ksym "${n}": ${path} has ${addrs.length} symbols of this name (${addrs.map((a) => `0x${a.toString(16)}`).join(", ")}), so its address is ambiguous (use a typed extern or a unique symbol)`,
    );
  }
  for (const n of want) {
    const a = hits.get(n);
    if (a === undefined) missing.add(n);
    else found.set(n, a);
  }
}

/** Forget cached addresses (after a module load, say). */
export function clearKallsymsCache(): void {
  caches.clear();
}
