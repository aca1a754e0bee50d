#!/usr/bin/env bash
# What `npm test` needs besides node_modules, checked (and on a Debian machine, as root,
# installed) before the suite starts: runs as npm's `pretest`, and from .ci/run.
#   - Debian packages: clang-19/llvm-19 (bpf/ objects, llvm-objdump golden tests), bpftool
#     (interop tests), libbpf-dev (BPF-side headers; the C reference in benchmarks),
#     systemtap-sdt-dev (sys/sdt.h for the USDT tests), iproute2 (netns/veth), gcc and make.
#   - bpffs at /sys/fs/bpf and tracefs at /sys/kernel/tracing.
# Not root: nothing is installed; the line printed says the exact command to run, and the run
# fails only under TSBPF_REQUIRE_KERNEL=1 (otherwise kernel tests skip with their reason).
# TSBPF_NO_INSTALL=1 checks without installing.
set -euo pipefail

PKGS=(clang-19 llvm-19 libbpf-dev bpftool iproute2 systemtap-sdt-dev gcc make)
require=${TSBPF_REQUIRE_KERNEL:-0}

fail_or_warn() {
  if [ "$require" = 1 ]; then echo "tsbpf test: $*" >&2; exit 1; fi
  echo "tsbpf test: warning: $* (tests that need it will skip)" >&2
}

if [ "$(uname -s)" != Linux ]; then
  fail_or_warn "not Linux: only the pure layers (asm, btf, elf) can be tested here"
  exit 0
fi

if [ ! -d node_modules ]; then
  echo "tsbpf test: node_modules is missing: running npm install" >&2
  npm install --no-audit --no-fund
fi

missing=()
if command -v dpkg-query >/dev/null; then
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
else
  for t in clang-19 llvm-objdump-19 bpftool gcc ip; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ -f /usr/include/sys/sdt.h ] || missing+=("sys/sdt.h (systemtap-sdt-dev)")
  [ -f /usr/include/bpf/bpf_helpers.h ] || missing+=("bpf/bpf_helpers.h (libbpf-dev)")
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ "${TSBPF_NO_INSTALL:-0}" != 1 ]; then
    echo "tsbpf test: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v apt-get >/dev/null; then
    fail_or_warn "missing ${missing[*]}: run sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  else
    fail_or_warn "missing ${missing[*]}: install them with your distribution's package manager"
  fi
fi

mount_if_missing() { # path fstype
  grep -q " $1 $2 " /proc/mounts && return 0
  if [ "$(id -u)" = 0 ]; then
    mount -t "$2" "$2" "$1"
  else
    fail_or_warn "$2 is not mounted at $1: run sudo mount -t $2 $2 $1"
  fi
}
mount_if_missing /sys/fs/bpf bpf
mount_if_missing /sys/kernel/tracing tracefs
