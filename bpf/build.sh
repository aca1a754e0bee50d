#!/usr/bin/env bash
# Rebuild every BPF object in bpf/ from its C source: bpf/<dir>/<name>.c -> bpf/<dir>/<name>.o.
# A source can ask for extra clang flags with a line "// tsbpf-build: <flags>" (e.g. -mcpu=v4).
# Output is reproducible: debug paths are relative, so objects built in any clone are identical.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG=${CLANG:-clang-19}
command -v "$CLANG" >/dev/null || { echo "build:bpf needs $CLANG (apt-get install clang-19)" >&2; exit 1; }
status=0
while IFS= read -r src; do
  obj="${src%.c}.o"
  extra=$(sed -n 's|^// tsbpf-build: ||p' "$src" | head -n 1)
  # shellcheck disable=SC2086
  if ! "$CLANG" -O2 -g -target bpf -mcpu=v3 \
      -I/usr/include/x86_64-linux-gnu -Ibpf/include -Ibpf \
      -fdebug-prefix-map="$PWD"=. -fdebug-compilation-dir=. \
      $extra -c "$src" -o "$obj"; then
    echo "build:bpf: failed to compile $src" >&2
    status=1
  fi
done < <(find bpf -name '*.c' -not -path 'bpf/include/*' | sort)
exit $status
