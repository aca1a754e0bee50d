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
  const need = ["dist/index.js", "dist/index.cjs", "dist/index.d.ts", "dist/index.d.cts", "dist/cli.js", "LICENSE", "README.md", "CHANGELOG.md", "package.json"];
  const missing = need.filter((f) => !files.includes(f));
  const unwanted = files.filter((f) => f.endsWith(".map") || f === "dist/cli.cjs" || f.startsWith("src/") || f.startsWith("test/"));
  const problems = [];
  if (missing.length) problems.push(`missing from the tarball: ${missing.join(", ")}`);
  if (unwanted.length) problems.push(`should not be in the tarball: ${unwanted.join(", ")}`);
  if (p.unpackedSize > Number(process.argv[1])) problems.push(`unpacked size ${p.unpackedSize} B is over the ${process.argv[1]} B budget`);
  console.log(`tarball: ${files.length} files, ${p.size} B packed, ${p.unpackedSize} B unpacked`);
  if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
' "$limit_unpacked"

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
ver=$(npx --no-install tsbpf --version)
[ "$ver" = "tsbpf v$(node -p 'require("tsbpf/package.json").version')" ] || { echo "tsbpf --version printed $ver" >&2; exit 1; }
npx --no-install tsbpf inspect node_modules/tsbpf/bpf/global_data.o >/dev/null
echo "installed from the tarball: ESM import, CJS require and the tsbpf bin work"
