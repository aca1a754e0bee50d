/**
 * Hostile and faulty objects against Collection.load and the live objects (issue 11): each
 * defect with its tiny fixture (test/fixtures/hostile/, made by make.ts), and two properties:
 * every mutated object loads with memory bounded by its size or fails typed, and after any
 * failed load bpffs and the kernel hold nothing of it (compared by this test's own unique names).
 */
import { inspect } from "node:util";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { asm } from "../../src/asm/assembler.js";
import { Collection } from "../../src/collection/collection.js";
import { DEFAULT_MAX_MAP_BYTES, declaredMapBytes } from "../../src/collection/limits.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { parseElf } from "../../src/elf/elf-file.js";
import { isBpfError, isNotSupportedError, isParseError, isTsbpfError, isVerifierError } from "../../src/errors.js";
import { uprobeEventLine } from "../../src/link/tracefs-probe.js";
import { attachTracepoint } from "../../src/link/tracepoint.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Program } from "../../src/program/program.js";
import { listIds } from "../../src/sys/obj.js";
import { netnsPath } from "../../src/sys/netns-path.js";
import { hostileFixtures } from "../fixtures/hostile/make.js";
import { describeKernel, isFdOpen, itKernel, openFdCount, uniqueName } from "../helpers/kernel.js";

const FIXTURES = join(__dirname, "../fixtures/hostile");
const fixture = (name: string) => join(FIXTURES, name);
const BPF = join(__dirname, "../../bpf");
const MiB = 1024 * 1024;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
/** A fresh directory on bpffs, removed after the test. */
function pinDir(): string {
  const d = `/sys/fs/bpf/${uniqueName("tsbpf_hostile")}`;
  mkdirSync(d);
  dirs.push(d);
  return d;
}

/** Ids of live maps whose (kernel) name is one of `names`. */
function liveMapsNamed(names: ReadonlySet<string>): number[] {
  const out: number[] = [];
  for (const id of listIds("map")) {
    try {
      using m = BpfMap.fromId(id);
      if (names.has(m.name)) out.push(id);
    } catch {
      // gone meanwhile, or not ours to open
    }
  }
  return out;
}

/** Give every map of `spec` a name of this test's own (kernel names: at most 15 characters). */
function renameMaps(spec: CollectionSpec): Set<string> {
  const names = new Set<string>();
  for (const m of Object.values(spec.maps)) {
    m.name = uniqueName("h").slice(0, 15);
    names.add(m.name);
  }
  return names;
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("hostile fixtures", () => {
  it("are what make.ts makes from the committed objects", () => {
    for (const [name, bytes] of Object.entries(hostileFixtures())) {
      expect(new Uint8Array(readFileSync(fixture(name))), name).toEqual(bytes);
    }
  });

  it("a .bss claiming 2^31 − 8 bytes parses with no allocation of its size", () => {
    const before = process.memoryUsage();
    const spec = CollectionSpec.fromFile(fixture("bss-2g.o"));
    const bss = Object.values(spec.maps).find((m) => m.section === ".bss")!;
    expect(bss.valueSize).toBe(2 ** 31 - 8);
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(MiB);
    expect(after.rss - before.rss).toBeLessThan(32 * MiB);
    expect(declaredMapBytes(bss)).toBeGreaterThan(DEFAULT_MAX_MAP_BYTES);
  });

  it.each([
    ["class32.o", "ELF: a BPF object is ELF64, but this one says ELFCLASS32 (byte 4 is 1): a corrupt or non-BPF file"],
    ["shoff0.o", "ELF: the object has no section header table (e_shoff or e_shnum is 0), so no code, maps or license: a truncated or stripped file"],
    ["no-sections.o", "ELF: the object has no section header table (e_shoff or e_shnum is 0), so no code, maps or license: a truncated or stripped file"],
  ])("%s (an object that parsed to nothing) is a ParseError naming the file", (name, message) => {
    const e = thrown(() => CollectionSpec.fromFile(fixture(name)));
    expect(isParseError(e)).toBe(true);
    expect((e as Error).message).toBe(`${fixture(name)}: ${message}`);
  });

  it("ParseError from fromBytes has no path to name; fromFile names it once", () => {
    const bytes = new Uint8Array(readFileSync(fixture("class32.o")));
    expect((thrown(() => CollectionSpec.fromBytes(bytes)) as Error).message).toMatch(/^ELF: a BPF object is ELF64/);
  });

  it("byteOrder is the object's: relabelling a big-endian object throws", () => {
    const be = CollectionSpec.fromFile(join(__dirname, "../elf/fixtures/global_data.bpfeb.o"));
    expect(() => (be.byteOrder = "little")).toThrow(TypeError);
    expect(() => (be.byteOrder = "little")).toThrow(/byteOrder is the object's own \(big-endian\)/);
    expect(be.byteOrder).toBe("big");
    be.byteOrder = "big"; // the same value is no change
  });

  it("tracefs words, tracepoint and netns names that would inject or climb are refused", () => {
    expect(uprobeEventLine("n", "/usr/bin/true", 16, false)).toBe("p:tsbpf/n /usr/bin/true:0x10");
    expect(() => uprobeEventLine("n", "/tmp/a b", 16, false)).toThrow(/uprobe binary path "\/tmp\/a b" holds " "/);
    expect(() => uprobeEventLine("n", "/bin/true:0x0\np:tsbpf/evil /bin/sh", 0, false)).toThrow(/holds "\\n"/);
    expect(netnsPath("blue")).toBe("/var/run/netns/blue");
    expect(netnsPath("/proc/self/ns/net")).toBe("/proc/self/ns/net");
    for (const bad of ["a/b", "../../etc/passwd", "..", ".", ""]) expect(() => netnsPath(bad), bad).toThrow(TypeError);
  });
});

describe("MapSpec and BpfMap misuse", () => {
  it("maxEntries given as a string says so", () => {
    expect(() => BpfMap.create({ type: "array", keySize: 4, valueSize: 4, maxEntries: "8" as unknown as number })).toThrow(
      'map: maxEntries must be an integer in 0..2^32-1, got the string "8"',
    );
  });

  it('a by_name map named ".." or "." is refused before any syscall', () => {
    for (const name of ["..", "."]) {
      expect(() => BpfMap.create({ name, type: "array", keySize: 4, valueSize: 4, maxEntries: 1, pinning: "by_name" }, { pinPath: "/sys/fs/bpf" })).toThrow(
        `map "${name}": pinning "by_name" needs a name that is a file name, not "${name}" (it would pin at the directory or its parent)`,
      );
    }
  });
});

describeKernel("Collection.load of hostile objects", () => {
  itKernel("a .bss of 2 GiB from an 8 KB object is refused fast, before anything is created", () => {
    const spec = CollectionSpec.fromFile(fixture("bss-2g.o"), { name: uniqueName("b") });
    const names = new Set(Object.values(spec.maps).map((m) => m.name ?? ""));
    const fds = openFdCount();
    const rss = process.memoryUsage().rss;
    const start = performance.now();
    const e = thrown(() => Collection.load(spec));
    expect(performance.now() - start).toBeLessThan(1000);
    expect(isTsbpfError(e)).toBe(true);
    expect((e as Error).message).toMatch(/^map "\.bss": the object declares 2048 MiB .*more than maxMapBytes \(256 MiB\); nothing was created/);
    expect(process.memoryUsage().rss - rss).toBeLessThan(32 * MiB);
    expect(openFdCount()).toBe(fds);
    expect(liveMapsNamed(names)).toEqual([]);
  });

  itKernel("a large .bss allowed by maxMapBytes loads without a JS buffer of its size, and works", () => {
    const bytes = hostileFixtures()["bss-2g.o"];
    const sec = parseElf(bytes).sections.find((s) => s.name === ".bss")!;
    const shoff = Number(new DataView(bytes.buffer).getBigUint64(40, true));
    new DataView(bytes.buffer).setBigUint64(shoff + sec.index * 64 + 32, BigInt(64 * MiB), true);
    const spec = CollectionSpec.fromBytes(bytes, { name: uniqueName("b") });
    expect(() => Collection.load(spec, { maxMapBytes: 32 * MiB })).toThrow(/more than maxMapBytes \(32 MiB\)/);
    const before = process.memoryUsage();
    {
      using coll = Collection.load(spec, { maxMapBytes: 128 * MiB });
      const after = process.memoryUsage();
      // The kernel holds the 64 MiB; this process neither allocated nor touched a buffer of it.
      expect(after.rss - before.rss).toBeLessThan(24 * MiB);
      expect(coll.maps[".bss"].valueSize).toBe(64 * MiB);
      expect(coll.variables.packets.value).toBe(0n);
      coll.programs.count_packets.run({ data: new Uint8Array(64) });
      expect(coll.variables.packets.value).toBe(1n);
    }
  });

  itKernel("pinning.o forced to fail removes the pin it made, its maps and their BTF with them", () => {
    const dir = pinDir();
    const spec = CollectionSpec.fromFile(fixture("pinning-fail.o"));
    const names = renameMaps(spec);
    const pinned = spec.maps.pinned_hash.name!;
    const fds = openFdCount();
    const e = thrown(() => Collection.load(spec, { pinPath: dir }));
    expect(isVerifierError(e)).toBe(true);
    expect((e as Error).message).toMatch(/^program "use_maps": /);
    expect((e as Error).message).toContain("R9 !read_ok");
    expect(existsSync(join(dir, pinned))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect(liveMapsNamed(names)).toEqual([]);
    expect(openFdCount()).toBe(fds);
  });

  itKernel("a failed load leaves a pin it reused (someone else's) in place", () => {
    const dir = pinDir();
    const spec = CollectionSpec.fromFile(fixture("pinning-fail.o"));
    const names = renameMaps(spec);
    const pinned = spec.maps.pinned_hash.name!;
    // The owner: a compatible map pinned at the same by-name path beforehand.
    using owner = BpfMap.create({ name: pinned, type: "hash", keySize: 4, valueSize: 4, maxEntries: 32, flags: 1, pinning: "by_name" }, { pinPath: dir });
    expect(owner.pinnedByThis).toBe(true);
    expect(thrown(() => Collection.load(spec, { pinPath: dir }))).toSatisfy(isVerifierError);
    expect(readdirSync(dir)).toEqual([pinned]);
    using again = BpfMap.open(join(dir, pinned));
    expect(again.id).toBe(owner.id);
    expect(liveMapsNamed(names)).toEqual([owner.id]);
    owner.unpin();
  });

  itKernel("an empty object is an error unless allowEmpty says it is intended", () => {
    const spec = CollectionSpec.fromFile(join(BPF, "global_data.o"));
    for (const k of Object.keys(spec.programs)) delete spec.programs[k];
    for (const k of Object.keys(spec.maps)) delete spec.maps[k];
    for (const k of Object.keys(spec.variables)) delete spec.variables[k];
    expect(() => Collection.load(spec)).toThrow(
      'Collection.load: object "global_data" has no program and no map, so there is nothing to load (a truncated, stripped or non-BPF file?); pass { allowEmpty: true } if an empty collection is intended',
    );
    using empty = Collection.load(spec, { allowEmpty: true });
    expect(Object.keys(empty.programs)).toEqual([]);
    expect(Object.keys(empty.maps)).toEqual([]);
  });

  itKernel("a relabelled big-endian object is still refused", () => {
    const be = CollectionSpec.fromFile(join(__dirname, "../elf/fixtures/global_data.bpfeb.o"));
    try {
      be.byteOrder = "little";
    } catch {
      // refused: the spec stays big-endian
    }
    expect(thrown(() => Collection.load(be))).toSatisfy(isNotSupportedError);
  });

  itKernel('instructions: "x" is a TypeError naming the program, before anything is created', () => {
    const spec = CollectionSpec.fromFile(join(BPF, "global_data.o"), { name: uniqueName("i") });
    // Its own names: `.data.custom` and `.rodata.greetin` keep their section names, and other
    // test files load global_data.o at the same time.
    const names = renameMaps(spec);
    (spec.programs.count_packets as { instructions: unknown }).instructions = "x";
    const fds = openFdCount();
    expect(() => Collection.load(spec)).toThrow('Collection.load: program "count_packets": instructions must be a non-empty array of instructions, got the string "x"');
    expect(openFdCount()).toBe(fds);
    expect(liveMapsNamed(names)).toEqual([]);
  });

  itKernel("unpin removes only this map's own pin, and a pin gone already is no error", () => {
    const dir = pinDir();
    const spec = { name: "shared", type: "array", keySize: 4, valueSize: 4, maxEntries: 2, pinning: "by_name" } as const;
    using owner = BpfMap.create(spec, { pinPath: dir });
    using borrower = BpfMap.create(spec, { pinPath: dir });
    expect(borrower.id).toBe(owner.id);
    expect(borrower.pinnedByThis).toBe(false);
    expect(() => borrower.unpin()).toThrow(/this map reused a pin made by someone else \(pinning "by_name"\), so it leaves it in place; pass \{ evenIfReused: true \}/);
    expect(existsSync(join(dir, "shared"))).toBe(true);
    // Someone removes the owner's pin: the owner's unpin is then a no-op, not a raw ENOENT.
    rmSync(join(dir, "shared"));
    owner.unpin();
    expect(owner.pinnedPath).toBeUndefined();
    // A pin replaced by another map is not removed by the first owner.
    owner.pin(join(dir, "shared"));
    rmSync(join(dir, "shared"));
    using other = BpfMap.create({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    other.pin(join(dir, "shared"));
    expect(() => owner.unpin()).toThrow(/the pin now refers to another object .* it was left in place/);
    expect(existsSync(join(dir, "shared"))).toBe(true);
    other.unpin();
    borrower.unpin({ evenIfReused: true }); // nothing there any more: no error
    expect(existsSync(join(dir, "shared"))).toBe(false);
  });

  itKernel("Program.fromFd refuses a non-BPF fd and leaves it open", () => {
    const fd = openSync("/proc/self/status", "r");
    try {
      expect(() => Program.fromFd(fd)).toThrow(`Program.fromFd: fd ${fd} is not a BPF program (it is /proc/${process.pid}/status); it was left open`);
      expect(isFdOpen(fd)).toBe(true);
    } finally {
      closeSync(fd);
    }
    if (isFdOpen(0)) {
      expect(() => Program.fromFd(0)).toThrow(/Program\.fromFd: fd 0 is not a BPF program .*it was left open/);
      expect(isFdOpen(0)).toBe(true);
    }
    using m = BpfMap.create({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(() => Program.fromFd(m.fd)).toThrow(/is not a BPF program \(it is anon_inode:bpf-map\)/);
    expect(m.get(new Uint8Array(4))).toEqual(new Uint8Array(4)); // still ours, still open
  });

  itKernel("attach: the wrong program type, a missing program and a tracepoint named .. are refused before any syscall", () => {
    using coll = Collection.load(CollectionSpec.fromFile(join(BPF, "global_data.o"), { name: uniqueName("a") }));
    const xdp = coll.programs.count_packets;
    expect(() => attachTracepoint(xdp, { category: "syscalls", name: "sys_enter_getppid" })).toThrow(
      'attachTracepoint: program "count_packets" is a xdp program, but attach.tracepoint accepts "tracepoint" programs (load it with that type, or use the attach function for xdp)',
    );
    const loaded = Object.keys(coll.programs).join(", ");
    expect(() => attachTracepoint(coll.programs.no_such_program, { category: "syscalls", name: "sys_enter_getppid" })).toThrow(
      `collection: no program "no_such_program" (loaded: ${loaded}): check the name, and Collection.load's programs option`,
    );
    expect(() => coll.maps.no_such_map).toThrow(`collection: no map "no_such_map" (loaded: ${Object.keys(coll.maps).join(", ")}): check the name`);
    // Still a plain record for every way of asking what it holds.
    expect(loaded).toContain("count_packets");
    expect("no_such_program" in coll.programs).toBe(false);
    expect("count_packets" in coll.programs).toBe(true);
    expect(Object.hasOwn(coll.programs, "no_such_program")).toBe(false);
    const forIn: string[] = [];
    for (const k in coll.programs) forIn.push(k);
    expect(forIn.join(", ")).toBe(loaded);
    expect(Object.keys({ ...coll.programs }).join(", ")).toBe(loaded);
    expect(Object.keys(JSON.parse(JSON.stringify(coll.maps)) as object).sort()).toEqual(Object.keys(coll.maps).sort());
    expect(coll.programs).toEqual({ ...coll.programs });
    expect(String(coll.programs)).toBe("[object Object]");
    expect(inspect(coll.programs)).toContain("count_packets");
    expect(Object.values(coll.programs)).toContain(xdp);
    using tp = Program.load({ type: "tracepoint", license: "GPL", instructions: asm`
      r0 = 0
      exit
    ` });
    expect(() => attachTracepoint(tp, { category: "..", name: "x" })).toThrow(/"\." and "\.\." are not tracepoint names/);
    expect(() => attachTracepoint(tp, { category: "syscalls", name: ".." })).toThrow(/"\." and "\.\." are not tracepoint names/);
  });

  itKernel("more than 64 programs on one tracepoint: E2BIG names the kernel's per-event limit", () => {
    // Other tests may attach to this tracepoint too: attach until the kernel refuses, at most 64 + 2 times.
    const progs: Program[] = [];
    const links: { close(): void }[] = [];
    try {
      let err: unknown;
      for (let i = 0; i < 66 && err === undefined; i++) {
        const p = Program.load({ type: "tracepoint", license: "GPL", instructions: asm`
          r0 = 0
          exit
        ` });
        progs.push(p);
        try {
          links.push(attachTracepoint(p, { category: "syscalls", name: "sys_enter_getppid" }));
        } catch (e) {
          err = e;
        }
      }
      expect(isBpfError(err) || (err as { code?: string })?.code === "E2BIG", String(err)).toBe(true);
      expect((err as { code: string }).code).toBe("E2BIG");
      expect((err as Error).message).toContain("already runs 64 BPF programs, the kernel's limit per event (BPF_TRACE_MAX_PROGS): close some of its links first");
      expect(links.length).toBeLessThanOrEqual(64);
    } finally {
      for (const l of links) l.close();
      for (const p of progs) p.close();
    }
  });
});

describeKernel("fuzz: mutated objects against Collection.load", () => {
  const SOURCES = ["global_data", "pinning", "legacy_maps", "map_in_map"].map((n) => ({ n, bytes: new Uint8Array(readFileSync(join(BPF, `${n}.o`))) }));
  /** Writes that make absurd sizes and counts: section sizes, map definitions, BTF words. */
  const edit = fc.record({
    source: fc.nat(SOURCES.length - 1),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(0, 1, 0x7ffffff8, 0x80000000, 0xffffffff, 0x1000000, 4096), fc.nat({ max: 0xffffffff })),
    width: fc.constantFrom(4, 8),
    target: fc.constantFrom("section size", "anywhere", "btf"),
  });

  function mutate(e: { source: number; at: number; value: number; width: number; target: string }): Uint8Array {
    const b = SOURCES[e.source].bytes.slice();
    const v = new DataView(b.buffer);
    const elf = parseElf(b);
    let at: number;
    if (e.target === "section size") {
      const shoff = Number(v.getBigUint64(40, true));
      at = shoff + (e.at % elf.sections.length) * 64 + 32;
    } else if (e.target === "btf") {
      const btf = elf.sections.find((s) => s.name === ".BTF");
      at = btf ? btf.offset + ((e.at % Math.max(4, btf.size - 8)) & ~3) : e.at % (b.length - 8);
    } else {
      at = (e.at % (b.length - 8)) & ~3;
    }
    if (e.width === 8) v.setBigUint64(at, BigInt(e.value), true);
    else v.setUint32(at, e.value, true);
    return b;
  }

  itKernel("every mutated object loads with memory bounded by its size, or fails typed and leaves nothing behind", () => {
    const seen = { parseError: 0, loaded: 0, loadError: 0 };
    const dir = pinDir();
    fc.assert(
      fc.property(edit, (e) => {
        const bytes = mutate(e);
        let spec: CollectionSpec;
        try {
          spec = CollectionSpec.fromBytes(bytes, { name: "fz" });
        } catch (err) {
          if (!isTsbpfError(err)) throw err;
          seen.parseError++;
          return;
        }
        const names = renameMaps(spec);
        const fds = openFdCount();
        const rss = process.memoryUsage().rss;
        const start = performance.now();
        try {
          const coll = Collection.load(spec, { pinPath: dir, maxMapBytes: 4 * MiB });
          for (const m of Object.values(coll.maps)) m.unpin();
          coll.close();
          seen.loaded++;
        } catch (err) {
          if (!isTsbpfError(err)) throw new Error(`untyped ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`, { cause: err });
          seen.loadError++;
          // Nothing of it is left: no pin, no map of its names, no fd.
          expect(readdirSync(dir)).toEqual([]);
          expect(liveMapsNamed(names)).toEqual([]);
        }
        expect(openFdCount()).toBe(fds);
        // Bounded by the input, not by what it claims: a few MiB at most (maxMapBytes is 4 MiB).
        expect(process.memoryUsage().rss - rss).toBeLessThan(64 * MiB);
        expect(performance.now() - start).toBeLessThan(5000);
      }),
      { numRuns: 150 },
    );
    expect(seen.parseError).toBeGreaterThan(0);
    expect(seen.loaded).toBeGreaterThan(0);
    expect(seen.loadError).toBeGreaterThan(0);
  });
});
