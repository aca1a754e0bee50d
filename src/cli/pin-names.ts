/**
 * File names for `tsbpf load --pin DIR`: one per program and map of an object, unique in the
 * directory and legal in bpffs. The rule (documented in docs/cli.md, stable across releases):
 *
 * 1. Start from the object's full name (the program's function name, the map's name in the
 *    object; never the kernel's 15-byte truncation), leading underscores kept, so
 *    `__blk_account_io_start` and `blk_account_io_start` stay apart.
 * 2. Drop one leading `.` (section maps: `.rodata` → `rodata`, `.kconfig` → `kconfig`), and turn
 *    every other character outside `[A-Za-z0-9_-]` into `_` (bpffs refuses dots:
 *    `.rodata.str1.1` → `rodata_str1_1`). An empty result becomes `_`.
 * 3. When several objects get the same name, the one whose name was already legal keeps it
 *    (a program before a map when both were); each other one gets `_prog` or `_map` appended,
 *    then `_prog2`, `_prog3`… until free. So the program `kconfig` is pinned as `kconfig` and
 *    the map `.kconfig` as `kconfig_map`. Objects are taken programs first, then maps, each in
 *    name order, so the answer depends only on the set of names.
 */

/** What is pinned. */
export type PinKind = "prog" | "map";

/** One object to pin: its kind and full name. */
export interface PinSubject {
  readonly kind: PinKind;
  readonly name: string;
}

/** The bpffs-legal form of one name (rule 2), before collisions are resolved. */
export function legalPinName(name: string): string {
  const s = name.replace(/^\./, "").replace(/[^A-Za-z0-9_-]/g, "_");
  return s === "" ? "_" : s;
}

const byName = (a: PinSubject, b: PinSubject) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Unique bpffs file names for these objects (rules 1–3 above), keyed `"prog:NAME"` /
 * `"map:NAME"`. Throws TypeError when the same kind and name is given twice.
 */
export function pinNames(subjects: readonly PinSubject[]): Map<string, string> {
  const key = (s: PinSubject) => `${s.kind}:${s.name}`;
  const seen = new Set<string>();
  for (const s of subjects) {
    if (seen.has(key(s))) throw new TypeError(`pinNames: ${s.kind} "${s.name}" given twice`);
    seen.add(key(s));
  }
  const ordered = [...subjects.filter((s) => s.kind === "prog").sort(byName), ...subjects.filter((s) => s.kind === "map").sort(byName)];
  const taken = new Set<string>();
  const out = new Map<string, string>();
  // Pass 1: names that needed no change claim themselves.
  for (const s of ordered) {
    if (legalPinName(s.name) === s.name && !taken.has(s.name)) {
      taken.add(s.name);
      out.set(key(s), s.name);
    }
  }
  // Pass 2: the rest take their legal form, or a suffixed one.
  for (const s of ordered) {
    if (out.has(key(s))) continue;
    const base = legalPinName(s.name);
    let name = base;
    for (let n = 1; taken.has(name); n++) name = `${base}_${s.kind}${n === 1 ? "" : n}`;
    taken.add(name);
    out.set(key(s), name);
  }
  return out;
}
