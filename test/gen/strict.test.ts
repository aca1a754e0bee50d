/**
 * Generated code type-checks under `--strict --noUncheckedIndexedAccess
 * --exactOptionalPropertyTypes` against tsbpf's published declarations: the golden bindings, the
 * type tests (test/gen/types.check.ts: each @ts-expect-error must be an error), the users' code
 * of the scenarios, and fresh bindings of every object in bpf/.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { generateBindings } from "../../src/gen/generate.js";
import { bpfObjects } from "./cases.js";

const TSC = resolve("node_modules/.bin/tsc");

function tsc(args: string[]): string {
  try {
    execFileSync(TSC, args, { stdio: "pipe" });
    return "";
  } catch (e) {
    return String((e as { stdout?: Buffer }).stdout ?? e);
  }
}

it("generated code type-checks under the strictest flags, and the type tests fail where they must", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-gen-strict-"));
  try {
    // tsbpf's declarations, as the package publishes them (d.ts only: skipLibCheck applies).
    const decl = join(dir, "decl");
    const emitted = tsc([
      "--declaration", "--emitDeclarationOnly", "--outDir", decl, "--rootDir", "src", "--target", "ES2022", "--module", "ESNext",
      "--moduleResolution", "Bundler", "--lib", "ES2023,ESNext.Disposable", "--types", "node", "--strict", "--skipLibCheck",
      "--isolatedModules", "src/index.ts", "src/elf/elfy.d.ts",
    ]);
    expect(emitted).toBe("");
    // fresh bindings of every object in bpf/, importing "tsbpf" as users do
    const fresh = join(dir, "fresh");
    mkdirSync(fresh);
    const objects = bpfObjects();
    for (const o of objects) {
      const bytes = readFileSync(o);
      const name = o.replace(/^bpf\//, "").replace(/\.o$/, "").replace(/\W/g, "_");
      const spec = CollectionSpec.fromBytes(bytes, { name: o.split("/").pop()!.split(".")[0]! });
      writeFileSync(join(fresh, `${name}.ts`), generateBindings(spec, bytes, { objectPath: o }));
    }
    // a sidecar module too (its __dirname / import.meta.url lookup must type-check as ESM)
    const side = readFileSync("test/gen/golden/opensnoop_rb.o");
    writeFileSync(join(fresh, "sidecar.ts"), generateBindings(CollectionSpec.fromBytes(side, { name: "opensnoop_rb" }), side, { objectPath: "opensnoop_rb.o", objectSource: { kind: "sidecar", path: "./opensnoop_rb.o" } }));
    const here = resolve("test/gen");
    const files = [
      ...readdirSync(join(here, "golden")).filter((f) => f.endsWith(".ts")).map((f) => join(here, "golden", f)),
      join(here, "types.check.ts"),
      ...readdirSync(join(here, "users")).map((f) => join(here, "users", f)),
      ...readdirSync(fresh).map((f) => join(fresh, f)),
    ];
    const config = {
      compilerOptions: {
        target: "ES2022", module: "ESNext", moduleResolution: "Bundler", lib: ["ES2023", "ESNext.Disposable"], types: ["node"],
        typeRoots: [resolve("node_modules/@types")],
        strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noImplicitOverride: true,
        skipLibCheck: true, isolatedModules: true, noEmit: true,
        paths: { tsbpf: [join(decl, "index.d.ts")] },
      },
      files,
    };
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(config, null, 2));
    expect(tsc(["-p", join(dir, "tsconfig.json")])).toBe("");
    expect(objects.length).toBeGreaterThan(25);

    // the type tests bite: without their @ts-expect-error comments, each line is an error
    const bare = readFileSync(join(here, "types.check.ts"), "utf8").replace(/\/\/ @ts-expect-error.*$/gm, "// (expect error)");
    const expected = (bare.match(/\(expect error\)/g) ?? []).length;
    writeFileSync(join(here, "types.bare.check.ts"), bare);
    try {
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ ...config, files: [join(here, "types.bare.check.ts")] }, null, 2));
      const out = tsc(["-p", join(dir, "tsconfig.json")]);
      const errorLines = new Set([...out.matchAll(/types\.bare\.check\.ts\((\d+),/g)].map((m) => m[1]));
      expect(errorLines.size).toBe(expected);
    } finally {
      rmSync(join(here, "types.bare.check.ts"), { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
