/**
 * A generated module runs as ESM and as CommonJS: tsbpf is bundled both ways (as tsup publishes
 * it) into a scratch node_modules, the golden opensnoop bindings are compiled both ways, and a
 * plain `node` process imports (or requires) them, reads a typed variable and, as root, loads
 * the object. A sidecar module installed as a package finds its object beside itself, as ESM
 * (import.meta.url) and as CommonJS (__dirname).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildSync } from "esbuild";
import { expect, it } from "vitest";
import { command } from "../../src/cli/gen.js";
import { isRoot } from "../helpers/kernel.js";

const script = (load: string) => `
const s = loadSpec();
const out = { tgid: s.variables.target_tgid.value, programs: Object.keys(s.spec.programs) };
if (${isRoot}) {
  s.variables.target_tgid.value = 1;
  const obj = s.load();
  out.kind = obj.programs.trace_openat.type;
  out.map = obj.maps.events.typeName;
  out.tgid = obj.variables.target_tgid.value;
  obj.close();
}
console.log(JSON.stringify(out));
`.replace("loadSpec()", load);

it("generated bindings run under ESM and CommonJS", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-gen-esm-cjs-"));
  try {
    const pkg = join(dir, "node_modules", "tsbpf");
    mkdirSync(pkg, { recursive: true });
    for (const dep of ["koffi", "elfy"]) symlinkSync(resolve("node_modules", dep), join(dir, "node_modules", dep));
    for (const format of ["esm", "cjs"] as const) {
      buildSync({ entryPoints: ["src/index.ts"], bundle: true, platform: "node", target: "node20", format, external: ["koffi"], outfile: join(pkg, format === "esm" ? "index.mjs" : "index.cjs"), logLevel: "silent" });
    }
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "tsbpf", exports: { import: "./index.mjs", require: "./index.cjs" } }));
    for (const format of ["esm", "cjs"] as const) {
      buildSync({ entryPoints: ["test/gen/golden/opensnoop_rb.ts"], platform: "node", target: "node20", format, outfile: join(dir, `bindings.${format === "esm" ? "mjs" : "cjs"}`), logLevel: "silent" });
    }
    writeFileSync(join(dir, "main.mjs"), `import { loadSpec } from "./bindings.mjs";\n${script("loadSpec()")}`);
    writeFileSync(join(dir, "main.cjs"), `const { loadSpec } = require("./bindings.cjs");\n${script("loadSpec()")}`);
    const want = isRoot ? { tgid: 1, programs: ["trace_openat"], kind: "tracepoint", map: "ringbuf" } : { tgid: 0, programs: ["trace_openat"] };
    for (const main of ["main.mjs", "main.cjs"]) {
      const out = execFileSync(process.execPath, [join(dir, main)], { cwd: dir }).toString();
      expect(JSON.parse(out), main).toEqual(want);
    }

    // a sidecar module, installed as a package would be (node_modules/snoop/), run from another
    // directory: it finds its object beside itself through import.meta.url (ESM) and __dirname (CJS)
    const snoop = join(dir, "node_modules", "snoop");
    mkdirSync(snoop);
    expect(command.run(["test/gen/golden/opensnoop_rb.o", "--sidecar", "--out", join(snoop, "side.ts")])).toBe(0);
    for (const format of ["esm", "cjs"] as const) {
      buildSync({ entryPoints: [join(snoop, "side.ts")], platform: "node", target: "node20", format, outfile: join(snoop, `side.${format === "esm" ? "mjs" : "cjs"}`), logLevel: "silent" });
    }
    writeFileSync(join(snoop, "package.json"), JSON.stringify({ name: "snoop", exports: { import: "./side.mjs", require: "./side.cjs" } }));
    const elsewhere = join(dir, "app", "bin");
    mkdirSync(elsewhere, { recursive: true });
    writeFileSync(join(dir, "app", "side-main.mjs"), `import { loadSpec } from "snoop";\n${script("loadSpec()")}`);
    writeFileSync(join(dir, "app", "side-main.cjs"), `const { loadSpec } = require("snoop");\n${script("loadSpec()")}`);
    for (const main of ["side-main.mjs", "side-main.cjs"]) {
      expect(JSON.parse(execFileSync(process.execPath, [join(dir, "app", main)], { cwd: elsewhere }).toString()), main).toEqual(want);
    }
    // a sidecar that is not the object the bindings were made from is refused, both ways
    copyFileSync("bpf/opensnoop.o", join(snoop, "side.o"));
    for (const main of ["side-main.mjs", "side-main.cjs"]) {
      expect(() => execFileSync(process.execPath, [join(dir, "app", main)], { cwd: elsewhere, stdio: "pipe" }), main).toThrow(/is not the object they were generated from .* run tsbpf gen again/);
    }
    // and a missing one is named by its full path, beside the module
    rmSync(join(snoop, "side.o"));
    expect(() => execFileSync(process.execPath, [join(dir, "app", "side-main.cjs")], { cwd: elsewhere, stdio: "pipe" })).toThrow(`cannot read the object beside them (${join(snoop, "./side.o")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
