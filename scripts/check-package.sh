#!/usr/bin/env bash
# The npm package as a user gets it (run after `npm run build`): what the tarball holds and how
# big it is, publint and are-the-types-wrong clean, and the packed tarball installed into a
# fresh project where the library imports from ESM and CJS and the `tsbpf` bin runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

limit_unpacked=$((4 * 1024 * 1024))
npm pack --dry-run --json 2>/dev/null | node -e '
  const [p] = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const files = p.files.map((f) => f.path);
  // The root and each subpath entry (tsbpf/asm, tsbpf/btf, tsbpf/elf), in ESM and CJS, with types.
  const entries = ["index", "asm", "btf", "elf"];
  const need = [...entries.flatMap((e) => [`dist/${e}.js`, `dist/${e}.cjs`, `dist/${e}.d.ts`, `dist/${e}.d.cts`]), "dist/cli.cjs", "LICENSE", "README.md", "CHANGELOG.md", "package.json"];
  const missing = need.filter((f) => !files.includes(f));
  const unwanted = files.filter((f) => f.endsWith(".map") || f === "dist/cli.js" || f.startsWith("src/") || f.startsWith("test/"));
  const problems = [];
  if (missing.length) problems.push(`missing from the tarball: ${missing.join(", ")}`);
  if (unwanted.length) problems.push(`should not be in the tarball: ${unwanted.join(", ")}`);
  if (p.unpackedSize > Number(process.argv[1])) problems.push(`unpacked size ${p.unpackedSize} B is over the ${process.argv[1]} B budget`);
  console.log(`tarball: ${files.length} files, ${p.size} B packed, ${p.unpackedSize} B unpacked`);
  if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
' "$limit_unpacked"

# One non-ASCII character makes V8 hold a whole file as a two-byte string (slower to import, #19):
# tsup.config.ts escapes what esbuild leaves in comments.
if grep -lP '[^\x00-\x7F]' dist/*.js dist/*.cjs; then echo "the files above hold non-ASCII characters" >&2; exit 1; fi

# The package's loader compiles dist/core.cjs with vm.Script (the code cache), where import()
# fails on Node 20 without --experimental-vm-modules (scripts/load-core.ts).
if grep -nE '(^|[^.a-zA-Z0-9_$])import\(' dist/core.cjs; then echo "dist/core.cjs uses import(): load with require (createRequire) instead" >&2; exit 1; fi

npx --no-install publint --level warning
npx --no-install attw --pack . --format ascii >/dev/null || { npx --no-install attw --pack . ; exit 1; }
echo "publint and are-the-types-wrong: clean"

work=$(mktemp -d /tmp/tsbpf-pack.XXXXXX)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -1)
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "./$tarball"
node --input-type=module -e 'import { asm, CollectionSpec } from "tsbpf"; if (typeof CollectionSpec.fromFile !== "function" || asm`r0 = 0
exit`.length !== 2) process.exit(1);'
node -e 'const t = require("tsbpf"); if (typeof t.Program.load !== "function") process.exit(1);'
# The subpaths, both ways: one copy of each class whichever entry hands it out (one core file).
node --input-type=module -e 'import { Collection } from "tsbpf"; import { linkInstructions } from "tsbpf/asm"; import { BtfSpec, applyCoreRelocations } from "tsbpf/btf"; import { CollectionSpec, parseElf } from "tsbpf/elf"; import * as root from "tsbpf";
if (typeof Collection.load !== "function" || typeof linkInstructions !== "function" || typeof applyCoreRelocations !== "function" || typeof parseElf !== "function" || root.BtfSpec !== BtfSpec || root.CollectionSpec !== CollectionSpec) process.exit(1);'
node -e 'const root = require("tsbpf"); const btf = require("tsbpf/btf"); const elf = require("tsbpf/elf"); const asm = require("tsbpf/asm");
if (btf.BtfSpec !== root.BtfSpec || elf.CollectionSpec !== root.CollectionSpec || asm.asm !== root.asm || typeof btf.applyCoreRelocations !== "function") process.exit(1);'
# ESM and CJS share one instance of the library (the ESM entries re-export the CJS one), and the
# second process takes the code cache the first one wrote (scripts/load-core.ts).
export TSBPF_CODE_CACHE="$work/code-cache"
first=$(NODE_DEBUG=tsbpf node -e 'require("tsbpf")' 2>&1)
second=$(NODE_DEBUG=tsbpf node --input-type=module -e 'await import("tsbpf")' 2>&1)
case "$first" in *"code cache miss"*"code cache written"*) ;; *) echo "first process: $first" >&2; exit 1 ;; esac
case "$second" in *"code cache hit"*) ;; *) echo "second process: $second" >&2; exit 1 ;; esac
node --input-type=module -e 'import { createRequire } from "node:module"; import { Program, BpfError } from "tsbpf"; const cjs = createRequire(import.meta.url)("tsbpf");
if (cjs.Program !== Program || cjs.BpfError !== BpfError) process.exit(1);'
unset TSBPF_CODE_CACHE
ver=$(npx --no-install tsbpf --version)
[ "$ver" = "tsbpf v$(node -p 'require("tsbpf/package.json").version')" ] || { echo "tsbpf --version printed $ver" >&2; exit 1; }
npx --no-install tsbpf inspect node_modules/tsbpf/bpf/global_data.o >/dev/null
echo "installed from the tarball: ESM import, CJS require (root and subpaths, one instance), the code cache and the tsbpf bin work"
