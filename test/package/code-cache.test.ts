/**
 * The package's code cache (scripts/load-core.ts): every entry loads the library's one file
 * through it. Each case runs fresh processes, as users do, over a small CommonJS module in a
 * directory of its own, and checks what reaches the disk: a cache is written once and used,
 * and nothing unsafe or damaged is ever handed to V8.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { codeCacheDir } from "../../scripts/load-core.js";
import { runInFreshProcess } from "../helpers/fresh-process.js";

const LOADER = join(__dirname, "../../scripts/load-core.ts");
const MODULE = [
  `"use strict";`,
  `function square(x) { return x * x; }`,
  `function sumOfSquares(n) { let s = 0; for (let i = 0; i < n; i++) s += square(i); return s; }`,
  `exports.sumOfSquares = sumOfSquares;`,
  `exports.where = () => new Error("here").stack.split("\\n")[1];`,
  "",
].join("\n");

let work: string;
let cacheDir: string;
let moduleFile: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), "tsbpf-code-cache-test-"));
  cacheDir = join(work, "cache");
  moduleFile = join(work, "lib.cjs");
  writeFileSync(moduleFile, MODULE);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

interface Child {
  state: string;
  file?: string;
  sum: number;
  where: string;
  sameInstance: boolean;
}

/** Load the module in a fresh process through the loader; `before` runs first in that process. */
function loadInChild(env: Record<string, string> = {}, before = ""): Child {
  const script = [
    `import { createRequire } from "node:module";`,
    `const { loadWithCodeCache, codeCacheDir } = await import(${JSON.stringify(LOADER)});`,
    `const require = createRequire(import.meta.url);`,
    before,
    `const r = loadWithCodeCache(${JSON.stringify(moduleFile)}, codeCacheDir());`,
    `console.log(JSON.stringify({ state: r.state, file: r.file, sum: r.exports.sumOfSquares(4), where: r.exports.where(), sameInstance: require(${JSON.stringify(moduleFile)}) === r.exports }));`,
  ].join("\n");
  const r = runInFreshProcess(script, { env: { NODE_DEBUG: "", TSBPF_CODE_CACHE: cacheDir, ...env }, timeoutMs: 30_000 });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout) as Child;
  // Whatever the cache did, the module is the module: right answers, one instance, and stack
  // frames that point into its own file and line.
  expect(out.sum).toBe(14);
  expect(out.sameInstance).toBe(true);
  expect(out.where).toContain(`${moduleFile}:5:`);
  return out;
}

describe("the code cache", () => {
  it("is written by the first process and used by the next, in a directory only this user can change", () => {
    const first = loadInChild();
    expect(first.state).toBe("miss");
    const file = first.file!;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    const written = readFileSync(file);

    expect(loadInChild().state).toBe("hit");
    expect(loadInChild().state).toBe("hit");
    // A hit leaves the file alone.
    expect(readFileSync(file).equals(written)).toBe(true);
  });

  it("never hands a damaged cache to V8: a checksum mismatch is a rejection, and the file is rewritten", () => {
    const file = loadInChild().file!;
    const bytes = readFileSync(file);
    bytes[bytes.length - 100] ^= 0xff; // one bit pattern in the payload, same length
    writeFileSync(file, bytes, { mode: 0o600 });
    expect(loadInChild().state).toBe("rejected");
    expect(loadInChild().state).toBe("hit");

    writeFileSync(file, bytes.subarray(0, 20), { mode: 0o600 }); // shorter than the header
    expect(loadInChild().state).toBe("rejected");
    expect(loadInChild().state).toBe("hit");
  });

  it("keys the cache on the source: an edited module gets its own cache", () => {
    const before = loadInChild().file!;
    writeFileSync(moduleFile, MODULE.replace("x * x", "x ** 2"));
    const after = loadInChild();
    expect(after.state).toBe("miss");
    expect(after.file).not.toBe(before);
    expect(loadInChild().state).toBe("hit");
  });

  it("uses no directory that others can write, and writes nothing there", () => {
    mkdirSync(cacheDir, { mode: 0o700 });
    chmodSync(cacheDir, 0o777);
    expect(loadInChild().state).toBe("unusable");
    expect(loadInChild().state).toBe("unusable");
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it("gives up at once on a directory that cannot be made, as under procfs (Node's recursive mkdir spins there)", () => {
    const started = Date.now();
    expect(loadInChild({ TSBPF_CODE_CACHE: "/proc/self/tsbpf-code-cache/deeper" }).state).toBe("unusable");
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("does not follow a link in place of the cache file, and never writes through it", () => {
    const file = loadInChild().file!;
    rmSync(file);
    const elsewhere = join(work, "elsewhere");
    writeFileSync(elsewhere, "not a cache", { mode: 0o600 });
    symlinkSync(elsewhere, file);
    expect(loadInChild().state).toBe("miss");
    expect(readFileSync(elsewhere, "utf8")).toBe("not a cache");
    expect(statSync(file).isFile()).toBe(true); // the link was replaced by a cache file
    expect(loadInChild().state).toBe("hit");
  });

  it("refuses a cache file that others can write", () => {
    const file = loadInChild().file!;
    chmodSync(file, 0o666);
    expect(loadInChild().state).toBe("rejected");
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("is off with TSBPF_CODE_CACHE=0 or NODE_DISABLE_COMPILE_CACHE, and then writes nothing", () => {
    expect(loadInChild({ TSBPF_CODE_CACHE: "0" }).state).toBe("off");
    expect(loadInChild({ NODE_DISABLE_COMPILE_CACHE: "1" }).state).toBe("off");
    expect(existsSync(cacheDir)).toBe(false);
  });

  it("replaces a cache written before any system call once, by the first process that made them", () => {
    const file = loadInChild().file!;
    const flagByte = (): number => readFileSync(file)[40]!;
    expect(flagByte()).toBe(0);
    expect(loadInChild().state).toBe("hit");
    expect(flagByte()).toBe(0);
    // koffi's addon in the require cache is how the loader tells that system calls were made.
    const koffiLoaded = `require.cache["/nonexistent/koffi.node"] = { exports: {} };`;
    expect(loadInChild({}, koffiLoaded).state).toBe("hit");
    expect(flagByte()).toBe(1);
    const written = readFileSync(file);
    expect(loadInChild({}, koffiLoaded).state).toBe("hit");
    expect(readFileSync(file).equals(written)).toBe(true);
  });

  it("leaves a module that throws out of the require cache, and caches nothing for it", () => {
    writeFileSync(moduleFile, `"use strict";\nthrow new Error("broken module");\n`);
    const script = [
      `import { createRequire } from "node:module";`,
      `const { loadWithCodeCache } = await import(${JSON.stringify(LOADER)});`,
      `const require = createRequire(import.meta.url);`,
      `let message;`,
      `try { loadWithCodeCache(${JSON.stringify(moduleFile)}, ${JSON.stringify(cacheDir)}); } catch (e) { message = e.message; }`,
      `console.log(JSON.stringify({ message, cached: ${JSON.stringify(moduleFile)} in require.cache }));`,
    ].join("\n");
    const r = runInFreshProcess(script);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ message: "broken module", cached: false });
    expect(existsSync(cacheDir) ? readdirSync(cacheDir) : []).toEqual([]);
  });
});

describe("codeCacheDir", () => {
  it("follows TSBPF_CODE_CACHE, then XDG_CACHE_HOME, then ~/.cache", () => {
    expect(codeCacheDir({ TSBPF_CODE_CACHE: "/var/cache/x" })).toBe("/var/cache/x");
    expect(codeCacheDir({ TSBPF_CODE_CACHE: "0" })).toBeUndefined();
    expect(codeCacheDir({ TSBPF_CODE_CACHE: "off" })).toBeUndefined();
    expect(codeCacheDir({ NODE_DISABLE_COMPILE_CACHE: "1" })).toBeUndefined();
    expect(codeCacheDir({ XDG_CACHE_HOME: "/xdg" })).toBe("/xdg/tsbpf");
    // A relative XDG_CACHE_HOME is invalid by the spec and ignored.
    expect(codeCacheDir({ XDG_CACHE_HOME: "rel" })).toMatch(/\/\.cache\/tsbpf$/);
    expect(codeCacheDir({ TSBPF_CODE_CACHE: "1" })).toMatch(/\/\.cache\/tsbpf$/);
  });
});
