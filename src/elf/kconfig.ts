/**
 * `.kconfig` extern values: parsing a kernel config (`CONFIG_X=y|m|n|123|"str"`) and encoding
 * each extern's value into the `.kconfig` map's contents by its BTF type, as libbpf does
 * (bool: y → 1; tristate enum/char: y → 1, m → 2, n → 0; integers; char arrays for strings).
 * Pure: the caller reads the config file and the kernel release.
 */
import { skipQualifiers, typeSize } from "../btf/query.js";
import type { BtfSpec } from "../btf/spec.js";
import { TsbpfError } from "../errors.js";
import type { ExternSpec } from "../spec/collection-spec.js";

/** Parse kernel config text into name → raw value (`"y"`, `"m"`, `"n"`, `"100"`, `"\"str\""`). */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const off = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (off) {
      out.set(off[1], "n");
      continue;
    }
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/** `LINUX_KERNEL_VERSION` from a release string ("6.18.0-foo" → 6<<16 | 18<<8 | 0). */
export function kernelVersionCode(release: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) throw new TsbpfError(`cannot read a kernel version from release "${release}"`);
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(255, Number(m[3] ?? 0));
}

/** What the loader knows about the running kernel, for the special LINUX_* externs. */
export interface KconfigFacts {
  /** Kernel config entries (from /proc/config.gz or /boot/config-$(uname -r)); undefined when unavailable. */
  config?: Map<string, string>;
  /**
   * Whether the kernel has BPF cookies (`bpf_get_attach_cookie`), as probed by the loader; the
   * release number decides only when this is left out.
   */
  hasBpfCookie?: boolean;
  /** `uname -r`. */
  release: string;
}

/**
 * Write every kconfig extern's value into `contents` (the `.kconfig` map's value). Throws
 * TsbpfError naming the extern when a non-weak one has no value or a value its type cannot hold.
 */
export function fillKconfig(contents: Uint8Array, externs: readonly ExternSpec[], btf: BtfSpec, facts: KconfigFacts, le: boolean): void {
  const view = new DataView(contents.buffer, contents.byteOffset, contents.byteLength);
  const version = kernelVersionCode(facts.release);
  for (const e of externs) {
    if (e.kind !== "kconfig" || e.offset === undefined || e.size === undefined) continue;
    const what = `extern "${e.name}"`;
    let raw: string | undefined;
    if (e.name === "LINUX_KERNEL_VERSION") raw = String(version);
    else if (e.name === "LINUX_HAS_BPF_COOKIE") raw = (facts.hasBpfCookie ?? version >= (5 << 16) + (15 << 8)) ? "y" : "n";
    else if (e.name === "LINUX_HAS_SYSCALL_WRAPPER") raw = version >= (4 << 16) + (17 << 8) ? "y" : "n";
    else if (e.name.startsWith("CONFIG_")) {
      if (!facts.config) {
        if (e.weak) continue;
        throw new TsbpfError(`${what}: the kernel config is not readable (/proc/config.gz, /boot/config-${facts.release}); declare it __weak to default to 0`);
      }
      raw = facts.config.get(e.name);
    } else if (!e.weak) {
      throw new TsbpfError(`${what}: unknown .kconfig extern (only CONFIG_* and LINUX_* are known)`);
    }
    if (raw === undefined) {
      if (e.weak) continue; // stays 0
      throw new TsbpfError(`${what}: not set in the kernel config; declare it __weak to default to 0`);
    }
    writeValue(view, e, btf, raw, le, what);
  }
}

function writeValue(view: DataView, e: ExternSpec, btf: BtfSpec, raw: string, le: boolean, what: string): void {
  const t = skipQualifiers(btf, e.typeId);
  const size = typeSize(btf, e.typeId);
  const at = e.offset!;
  const tristate = raw === "y" || raw === "m" || raw === "n";
  if (t.kind === "int" && t.bool) {
    if (raw === "m") throw new TsbpfError(`${what}: value "m" (module) does not fit a bool: use enum libbpf_tristate`);
    if (!tristate) throw new TsbpfError(`${what}: value ${raw} is not y/n for a bool`);
    view.setUint8(at, raw === "y" ? 1 : 0);
    return;
  }
  if ((t.kind === "enum" || (t.kind === "int" && t.char)) && tristate) {
    const v = raw === "y" ? 1 : raw === "m" ? 2 : 0;
    setInt(view, at, size, BigInt(v), le);
    return;
  }
  if (t.kind === "array") {
    const m = /^"(.*)"$/.exec(raw);
    if (!m) throw new TsbpfError(`${what}: value ${raw} is not a string for a char array`);
    const bytes = Buffer.from(m[1].replace(/\\(.)/g, "$1"), "utf8");
    const n = Math.min(bytes.length, size - 1);
    for (let i = 0; i < n; i++) view.setUint8(at + i, bytes[i]);
    return;
  }
  if (t.kind === "int" || t.kind === "enum" || t.kind === "enum64") {
    if (tristate) {
      setInt(view, at, size, raw === "y" ? 1n : raw === "m" ? 2n : 0n, le);
      return;
    }
    let n: bigint;
    try {
      n = BigInt(raw.trim());
    } catch {
      throw new TsbpfError(`${what}: value ${raw} is not a number`);
    }
    const bits = BigInt(size * 8);
    if (n >= 1n << bits || n < -(1n << (bits - 1n))) throw new TsbpfError(`${what}: value ${raw} does not fit ${size} bytes`);
    setInt(view, at, size, n, le);
    return;
  }
  throw new TsbpfError(`${what}: unsupported type ${t.kind} for a .kconfig extern`);
}

function setInt(view: DataView, at: number, size: number, n: bigint, le: boolean): void {
  const u = BigInt.asUintN(size * 8, n);
  switch (size) {
    case 1:
      view.setUint8(at, Number(u));
      break;
    case 2:
      view.setUint16(at, Number(u), le);
      break;
    case 4:
      view.setUint32(at, Number(u), le);
      break;
    case 8:
      view.setBigUint64(at, u, le);
      break;
    default:
      throw new TsbpfError(`integer of ${size} bytes is not supported for a .kconfig extern`);
  }
}
