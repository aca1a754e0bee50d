/**
 * `tsbpf gen`: golden outputs (fail on drift), determinism, the header, and the agreement of the
 * generated types with what the runtime codecs decode. No kernel needed.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { command } from "../../src/cli/gen.js";
import { codecFromBtf } from "../../src/btf/codec.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { generateBindings, pascalCase } from "../../src/gen/generate.js";
import { conforms, tsTypeOf } from "../../src/gen/ts-types.js";
import { GEN_VERSION } from "../../src/gen/version.js";
import { hasTool } from "../helpers/kernel.js";
import { bpfObjects, GOLDEN_CASES } from "./cases.js";

/** Run the gen command, capturing what it prints to stderr and stdout. */
function gen(args: string[]): { code: number; stderr: string; stdout: string } {
  const lines: string[] = [];
  let stdout = "";
  const orig = console.error;
  const write = process.stdout.write;
  console.error = (...a: unknown[]) => void lines.push(a.join(" "));
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  try {
    return { code: command.run(args) as number, stderr: lines.join("\n"), stdout };
  } finally {
    console.error = orig;
    process.stdout.write = write;
  }
}

const hasClang = hasTool("clang-19");

describe("tsbpf gen golden outputs", () => {
  it.each(GOLDEN_CASES.map((c) => ({ ...c, needsCc: c.args.includes("--cc") })))("$name is what the generator writes today (npm run gen:golden)", (c) => {
    if (c.needsCc && !hasClang) throw new Error("the --cc goldens need clang-19 (apt-get install clang-19)");
    const r = gen(["--check", ...c.args]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("--check exits 1 naming the stale file and the command that rewrites it", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-gen-"));
    try {
      const out = join(dir, "opensnoop.ts");
      copyFileSync("test/gen/golden/opensnoop.ts", out);
      expect(gen(["bpf/opensnoop.o", "--out", out, "--check"]).code).toBe(0);
      writeFileSync(out, readFileSync(out, "utf8").replace("count: bigint", "count: number"));
      const r = gen(["bpf/opensnoop.o", "--out", out, "--check"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`tsbpf gen --check: ${out} is stale: run tsbpf gen bpf/opensnoop.o --out ${out}`);
      // a sidecar that differs is stale too
      expect(gen(["bpf/opensnoop.o", "--out", out, "--sidecar"]).code).toBe(0);
      expect(readFileSync(join(dir, "opensnoop.o"))).toEqual(readFileSync("bpf/opensnoop.o"));
      expect(readFileSync(out, "utf8")).toContain('tsbpf.sidecarObject(typeof __dirname === "string" ? `${__dirname}/opensnoop.o` : new URL("./opensnoop.o", import.meta.url), meta)');
      writeFileSync(join(dir, "opensnoop.o"), "x");
      expect(gen(["bpf/opensnoop.o", "--out", out, "--sidecar", "--check"]).code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--json prints what was written, and with --check what is stale and the command that rewrites it", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-gen-"));
    try {
      const out = join(dir, "opensnoop.ts");
      const wrote = gen(["bpf/opensnoop.o", "--out", out, "--json"]);
      expect([wrote.code, wrote.stderr, JSON.parse(wrote.stdout)]).toEqual([0, "", { written: [out] }]);
      const sidecar = gen(["bpf/opensnoop.o", "--out", out, "--sidecar", "--pretty"]);
      expect(sidecar.stdout).toBe(`${JSON.stringify({ written: [out, join(dir, "opensnoop.o")] }, null, 2)}\n`);
      expect(JSON.parse(gen(["bpf/opensnoop.o", "--out", out, "--sidecar", "--check", "--json"]).stdout)).toEqual({ stale: [] });
      writeFileSync(out, "stale");
      const r = gen(["bpf/opensnoop.o", "--out", out, "--check", "--json"]);
      expect([r.code, r.stderr, JSON.parse(r.stdout)]).toEqual([1, "", { stale: [out], rerun: `tsbpf gen bpf/opensnoop.o --out ${out}` }]);
      const both = gen(["bpf/opensnoop.o", "--out", "-", "--json"]);
      expect([both.code, both.stdout]).toEqual([2, ""]);
      expect(both.stderr).toMatch(/^tsbpf gen: --json with --out -: the module itself goes to stdout\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--check with --cc names a command that works: --out before the cflags, which all go to clang", () => {
    if (!hasClang) throw new Error("needs clang-19 (apt-get install clang-19)");
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-gen-"));
    try {
      const out = join(dir, "snoop.ts");
      const args = ["--cc", "clang-19", "bpf/gen/opensnoop_rb.c", "--type", "event", "--out", out, "--", "-mcpu=v3"];
      expect(gen(args).code).toBe(0);
      writeFileSync(out, "stale");
      const r = gen(["--check", ...args]);
      expect(r.code).toBe(1);
      const rerun = `tsbpf gen --cc clang-19 --type event bpf/gen/opensnoop_rb.c --out ${out} -- -mcpu=v3`;
      expect(r.stderr).toBe(`tsbpf gen --check: ${out} is stale: run ${rerun}`);
      // what it names rewrites the module: --check passes after it
      expect(gen(rerun.split(" ").slice(2)).code).toBe(0);
      expect(gen(["--check", ...args])).toEqual({ code: 0, stderr: "", stdout: "" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes the header line, and the same bytes for the same object every time", () => {
    for (const o of bpfObjects()) {
      const bytes = readFileSync(o);
      const spec = CollectionSpec.fromBytes(bytes, { name: "x" });
      const a = generateBindings(spec, bytes, { objectPath: o });
      const b = generateBindings(CollectionSpec.fromBytes(bytes, { name: "x" }), bytes, { objectPath: o });
      expect(a.split("\n")[0]).toBe(`// Code generated by tsbpf gen ${GEN_VERSION} from ${o}; DO NOT EDIT.`);
      expect(b).toBe(a);
    }
  });

  it("records the package's version", () => {
    expect(GEN_VERSION).toBe((JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version);
  });

  it("says how to get a type into BTF when --type names one clang left out", () => {
    const r = gen(["bpf/opensnoop.o", "--out", "-", "--type", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--type nope: no such type in the BTF of bpf/opensnoop.o");
    expect(r.stderr).toContain("generate from the C with --cc");
    expect(gen(["bpf/opensnoop.o", "--bogus"]).code).toBe(2);
    expect(gen([]).code).toBe(2);
  });

  it("names types in PascalCase", () => {
    expect(pascalCase("sys_enter_openat_args")).toBe("SysEnterOpenatArgs");
    expect(pascalCase("__sk_buff")).toBe("SkBuff");
    expect(pascalCase("8021q")).toBe("T8021q");
  });
});

describe("generated types agree with the runtime codecs", () => {
  // Every type a map key or value or a variable has, in every object of bpf/: random bytes
  // decoded by codecFromBtf have exactly the shape the generated type describes.
  const cases: { name: string; spec: CollectionSpec; id: number }[] = [];
  for (const o of [...bpfObjects(), "test/gen/golden/kinds.o", "test/gen/golden/opensnoop_rb.o"]) {
    const spec = CollectionSpec.fromFile(o);
    if (!spec.btf) continue;
    const ids = new Set<number>();
    for (const m of Object.values(spec.maps)) for (const id of [m.btfKeyTypeId, m.btfValueTypeId]) if (id) ids.add(id);
    for (const v of Object.values(spec.variables)) if (v.typeId) ids.add(v.typeId);
    for (const t of spec.btf) if ((t.kind === "struct" || t.kind === "union") && t.name) ids.add(t.id);
    for (const id of ids) cases.push({ name: `${o} [${id}]`, spec, id });
  }

  it("covers structs, unions, bitfields, char arrays and enums", () => {
    expect(cases.length).toBeGreaterThan(100);
  });

  it("decoded values conform to the generated type, for every type of every object", () => {
    let checked = 0;
    for (const c of cases) {
      const btf = c.spec.btf!;
      let codec;
      try {
        codec = codecFromBtf(btf, c.id);
      } catch {
        continue; // no layout: the generator gives bytes, as the loader does
      }
      const model = tsTypeOf(btf, c.id, (t) => ("name" in t && t.name ? t.name : undefined));
      checked++;
      fc.assert(
        fc.property(fc.uint8Array({ minLength: codec.size, maxLength: codec.size }), (b) => {
          const v = codec.decode(new DataView(b.buffer, b.byteOffset, b.byteLength), 0);
          expect(conforms(model, v), c.name).toBe("");
        }),
        { numRuns: 20 },
      );
    }
    expect(checked).toBeGreaterThan(50);
  });
});
