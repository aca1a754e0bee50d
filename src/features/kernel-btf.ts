/**
 * The running kernel's BTF: `/sys/kernel/btf/vmlinux` and module BTF (`/sys/kernel/btf/<module>`,
 * split BTF on top of vmlinux), read once per process and parsed lazily. It lives above the pure
 * btf layer because it keeps per-process state about the running kernel and maps the files with
 * mmap(2) (src/sys), falling back to reading them.
 *
 * Opening vmlinux reads the file (5.5 MB here) and frames its 126k type records; types are
 * decoded only when asked for, and the name index is built only after a few lookups. All loads
 * in a process share one instance; `releaseKernelBtf()` drops it so its memory can go.
 *
 * Linux 6.16+ lets /sys/kernel/btf/* be mapped, which skips the 1,300 page-sized reads that
 * sysfs answers; older kernels refuse the mapping and the file is read.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { NotSupportedError, ParseError, TsbpfError, checkOptions } from "../errors.js";
import { parseBtf, type BtfSpec } from "../btf/spec.js";
import { mapKernelBtfFile } from "../sys/btf-attr.js";

/** Where the kernel exposes its BTF. */
export const KERNEL_BTF_DIR = "/sys/kernel/btf";

let vmlinux: BtfSpec | undefined;
let vmlinuxPath: string | undefined;
const modules = new Map<string, BtfSpec>();

/**
 * Read a whole file into one buffer: one fstat, then reads into a buffer of that size (sysfs
 * reports the BTF size), growing only if the file turns out longer.
 */
export function readWholeFile(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    let size = fstatSync(fd).size;
    let buf = Buffer.allocUnsafeSlow(Math.max(size, 4096));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = Buffer.allocUnsafeSlow(buf.length * 2);
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const k = readSync(fd, buf, n, buf.length - n, null);
      if (k <= 0) break;
      n += k;
    }
    size = n;
    return new Uint8Array(buf.buffer, buf.byteOffset, size);
  } finally {
    closeSync(fd);
  }
}

/** Options of kernelBtf. */
export interface KernelBtfOptions {
  /**
   * A vmlinux BTF file to use instead of `/sys/kernel/btf/vmlinux` (for kernels without it, e.g.
   * a BTFHub file). Changing the path replaces the shared instance.
   */
  path?: string;
}

/**
 * The running kernel's vmlinux BTF, shared by every caller in this process and parsed lazily.
 * Min kernel 5.4 with CONFIG_DEBUG_INFO_BTF. Throws NotSupportedError when the kernel exposes
 * no BTF, ParseError when the file is malformed.
 */
export function kernelBtf(options?: KernelBtfOptions): BtfSpec {
  if (options) {
    checkOptions("kernelBtf", options, ["path"]);
  }
  const path = options?.path ?? `${KERNEL_BTF_DIR}/vmlinux`;
  if (vmlinux && vmlinuxPath === path) return vmlinux;
  if (!existsSync(path)) {
    if (options?.path) throw new TsbpfError(`kernel BTF: read ${path}: no such file (check the path given)`);
    throw new NotSupportedError("kernel BTF (/sys/kernel/btf/vmlinux)", {
      minKernel: "5.4",
      detail: "the kernel was built without CONFIG_DEBUG_INFO_BTF; pass a BTF file with kernelBtf({ path })",
    });
  }
  const spec = parseKernelFile(path);
  modules.clear(); // module BTF is split on top of the old base
  vmlinux = spec;
  vmlinuxPath = path;
  return spec;
}

function parseKernelFile(path: string, base?: BtfSpec): BtfSpec {
  try {
    return parseBtf(mapKernelBtfFile(path) ?? readWholeFile(path), { lazy: true, base });
  } catch (e) {
    if (e instanceof ParseError) {
      throw new ParseError(`kernel BTF ${path}: ${e.message}`, { offset: e.offset, cause: e });
    }
    throw e;
  }
}

/**
 * The BTF of a loaded kernel module (split BTF on top of vmlinux), shared and lazy like
 * kernelBtf(). Min kernel 5.11 (CONFIG_DEBUG_INFO_BTF_MODULES). Throws NotSupportedError when
 * the module has no BTF (not loaded, or built without it).
 */
export function moduleBtf(name: string): BtfSpec {
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]+$/.test(name) || name === "vmlinux") {
    throw new TypeError(`moduleBtf: ${JSON.stringify(name)} is not a module name`);
  }
  const base = kernelBtf();
  const known = modules.get(name);
  if (known) return known;
  const path = `${KERNEL_BTF_DIR}/${name}`;
  if (!existsSync(path)) {
    throw new NotSupportedError(`BTF of kernel module "${name}"`, {
      minKernel: "5.11",
      detail: `${path} does not exist: the module is not loaded or was built without BTF`,
    });
  }
  const spec = parseKernelFile(path, base);
  modules.set(name, spec);
  return spec;
}

/** Names of the loaded modules that have BTF (`/sys/kernel/btf/*` except vmlinux). */
export function kernelModulesWithBtf(): string[] {
  if (!existsSync(KERNEL_BTF_DIR)) return [];
  return readdirSync(KERNEL_BTF_DIR)
    .filter((n) => n !== "vmlinux")
    .sort();
}

/**
 * Drop the shared kernel and module BTF so their memory can be reclaimed; the next kernelBtf()
 * reads the file again. Specs already handed out stay usable.
 */
export function releaseKernelBtf(): void {
  vmlinux = undefined;
  vmlinuxPath = undefined;
  modules.clear();
}
