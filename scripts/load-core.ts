/**
 * Loads the library's one file (dist/core.cjs) with a V8 code cache, for every package entry,
 * ESM and CJS alike (#19). Built to dist/load-core.cjs; it imports nothing of the library.
 *
 * Why: V8 spends ~20 ms compiling the ~850 kB bundle on each `import "tsbpf"`, and a first
 * `Collection.load` compiles another hundred functions lazily (~10 ms). A cache made at the end
 * of a process holds the bytecode of both, so the next process deserializes instead. Node's own
 * compile cache (`module.enableCompileCache`, Node >= 22.1) is process-wide, so a library
 * cannot turn it on for its user, and it is written before the module runs, so it holds none
 * of the lazily compiled functions.
 *
 * Where: `$TSBPF_CODE_CACHE` when it is a path, else `$XDG_CACHE_HOME/tsbpf` or
 * `~/.cache/tsbpf`. `TSBPF_CODE_CACHE=0` (or `NODE_DISABLE_COMPILE_CACHE`) turns it off. A
 * cache is used only from a directory and a file this user owns that nobody else can write,
 * opened without following links, and only after its SHA-256 matches: V8 release builds do not
 * checksum what they deserialize. Any failure falls back to a plain compile; nothing here
 * makes an import fail. `NODE_DEBUG=tsbpf` prints what happened on stderr.
 *
 * A module compiled by vm.Script cannot use `import()` on Node 20 without
 * --experimental-vm-modules: the library has none (check-package.sh fails on one).
 */
import { createHash } from "node:crypto";
import {
  closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync,
  renameSync, rmSync, statSync, unlinkSync, writeFileSync,
} from "node:fs";
import Module from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { debuglog } from "node:util";
import { Script } from "node:vm";

/** What became of the cache in one load. */
export type CodeCacheState =
  | "off" // turned off by the environment
  | "unusable" // no safe directory (not ours, writable by others, or not creatable)
  | "miss" // no cache yet: one is written when the process exits
  | "hit" // V8 took the cache
  | "rejected" // V8 refused it (another V8 or flags), or its checksum did not match: rewritten at exit
  | "loaded"; // the module was in the require cache already

export interface CoreLoad {
  readonly exports: unknown;
  readonly state: CodeCacheState;
  /** The cache file used or to be written, when there is one. */
  readonly file?: string;
}

const debug = debuglog("tsbpf");
const MAGIC = Buffer.from("TSBPFV8\u0001", "latin1");
const HASH_BYTES = 32;
// Header: magic, SHA-256 of the payload, one flag byte (FLAG_AFTER_SYSCALLS).
const HEADER_BYTES = MAGIC.length + HASH_BYTES + 1;
/**
 * Set when the process that wrote the cache had made system calls (koffi's addon was loaded):
 * its cache holds the load path. A cache from a process that only imported is replaced once by
 * the first process that loads something.
 */
const FLAG_AFTER_SYSCALLS = 1;
/** Cache files not rewritten for this long are removed when another one is written. */
const STALE_MS = 30 * 24 * 3600 * 1000;
const WRAPPER_HEAD = "(function (exports, require, module, __filename, __dirname) { ";
const WRAPPER_TAIL = "\n})";

/** The cache directory the environment asks for, or undefined when the cache is off. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const setting = env.TSBPF_CODE_CACHE;
  if (setting === "0" || setting === "off" || setting === "false") return undefined;
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined && env.NODE_DISABLE_COMPILE_CACHE !== "") return undefined;
  if (setting !== undefined && setting !== "" && setting !== "1") return setting;
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME.startsWith("/") ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(base, "tsbpf");
}

/** Whether `mode`/`uid` describe something only this process's user can change. */
function ownedAndPrivate(st: { uid: number; mode: number }): boolean {
  return st.uid === process.getuid!() && (st.mode & 0o022) === 0;
}

/** The directory, made (0700) when missing, or undefined when it is not safe to use. */
function safeDir(dir: string): string | undefined {
  try {
    makeDirs(dir);
    const st = lstatSync(dir);
    return st.isDirectory() && ownedAndPrivate(st) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `mkdir -p` with mode 0700, one level at a time. Not `mkdirSync(dir, { recursive: true })`:
 * on Node 20 it loops forever where mkdir answers ENOENT under a parent that exists (procfs:
 * HOME=/proc/self made `import "tsbpf"` spin).
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    if (dirname(d) === d) break;
    missing.push(d);
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i]!, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e; // another process made it
    }
  }
}

/** The payload of a cache file and its flags, or undefined when there is none or it is not sound. */
function readCache(file: string): { data: Buffer; flags: number } | "corrupt" | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || !ownedAndPrivate(st) || st.size < HEADER_BYTES) return "corrupt";
    const buf = readFileSync(fd);
    if (buf.length !== st.size || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return "corrupt";
    const data = buf.subarray(HEADER_BYTES);
    const want = buf.subarray(MAGIC.length, MAGIC.length + HASH_BYTES);
    if (!createHash("sha256").update(data).digest().equals(want)) return "corrupt";
    return { data, flags: buf[HEADER_BYTES - 1]! };
  } finally {
    closeSync(fd);
  }
}

/** Write `data` as the cache file atomically (a reader sees the old file or the new one whole). */
function writeCache(file: string, data: Buffer, flags: number): void {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header);
  createHash("sha256").update(data).digest().copy(header, MAGIC.length);
  header[HEADER_BYTES - 1] = flags;
  // Threads of one process share its pid: the random part keeps their files apart.
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([header, data]), { mode: 0o600, flag: "wx" });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Remove other cache files of the directory that nobody has rewritten for STALE_MS. */
function pruneStale(dir: string, keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (path === keep || !/^core-[0-9a-f]+\.v8$/.test(name)) continue;
    try {
      if (now - statSync(path).mtimeMs > STALE_MS) unlinkSync(path);
    } catch {
      // another process removed it first
    }
  }
}

/** Whether koffi's addon is loaded in this process: the library has made system calls. */
function madeSyscalls(): boolean {
  for (const key in requireCache()) if (key.endsWith("koffi.node")) return true;
  return false;
}

function requireCache(): Record<string, Module | undefined> {
  return (Module as unknown as { _cache: Record<string, Module | undefined> })._cache;
}

/**
 * Load the CommonJS file `file` as `require(file)` would (one instance, in the require cache),
 * compiled with a code cache from `dir` (`codeCacheDir()` by default; undefined: no cache).
 */
export function loadWithCodeCache(file: string, dir: string | undefined = codeCacheDir()): CoreLoad {
  const loaded = requireCache()[file];
  if (loaded !== undefined) return { exports: loaded.exports, state: "loaded" };
  const source = readFileSync(file);
  const cacheDir = dir === undefined ? undefined : safeDir(dir);
  let state: CodeCacheState = dir === undefined ? "off" : cacheDir === undefined ? "unusable" : "miss";
  let cacheFile: string | undefined;
  let cached: ReturnType<typeof readCache>;
  if (cacheDir !== undefined) {
    // V8 checks its version and flags itself (a cache from other flags is rejected, then
    // rewritten), but of the source only its length: the key holds the source's hash.
    const key = createHash("sha256").update(source).update(`\0${process.version}\0${process.arch}`).digest("hex").slice(0, 32);
    cacheFile = join(cacheDir, `core-${key}.v8`);
    try {
      cached = readCache(cacheFile);
    } catch {
      cached = "corrupt"; // a read error (EIO): compile without it, and write it anew
    }
  }
  // The file is ASCII (check-package.sh): latin1 is its exact, fastest decode.
  const script = new Script(WRAPPER_HEAD + source.toString("latin1") + WRAPPER_TAIL, {
    filename: file,
    cachedData: typeof cached === "object" ? cached.data : undefined,
  });
  if (typeof cached === "object") state = script.cachedDataRejected === true ? "rejected" : "hit";
  else if (cached === "corrupt") state = "rejected";

  const mod = new Module(file);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(file));
  requireCache()[file] = mod;
  try {
    const run = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: Module, f: string, d: string) => void;
    const req = Module.createRequire(file);
    run.call(mod.exports, mod.exports, req, mod, file, dirname(file));
  } catch (e) {
    delete requireCache()[file];
    throw e;
  }
  mod.loaded = true;
  debug("code cache %s: %s", state, cacheFile ?? dir ?? "off");

  if (cacheFile !== undefined && cacheDir !== undefined) {
    const rewrite = state === "miss" || state === "rejected";
    const upgrade = state === "hit" && typeof cached === "object" && (cached.flags & FLAG_AFTER_SYSCALLS) === 0;
    if (rewrite || upgrade) {
      const target = cacheFile;
      process.once("exit", () => {
        try {
          const flags = madeSyscalls() ? FLAG_AFTER_SYSCALLS : 0;
          if (!rewrite && flags === 0) return; // this process did no more than the one that wrote it
          writeCache(target, script.createCachedData(), flags);
          pruneStale(cacheDir, target);
          debug("code cache written: %s", target);
        } catch (e) {
          debug("code cache not written: %s", (e as Error).message);
        }
      });
    }
  }
  return { exports: mod.exports, state, file: cacheFile };
}
