/**
 * The live `Btf` handle: BTF loaded into the kernel (from a blob, a parsed spec or a list of
 * types) or opened by id, owning one Fd. The syscalls are in src/sys/btf-attr.ts.
 */
import { marshalBtf } from "../btf/marshal.js";
import { parseBtf, type BtfSpec } from "../btf/spec.js";
import type { BtfTypeInit } from "../btf/types.js";
import { btfBytes, btfInfo, btfLoad, type BtfInfo, type BtfLoadOptions } from "../sys/btf-attr.js";
import type { Fd } from "../sys/fd.js";
import { getFdById, readEach } from "../sys/obj.js";

export type { BtfInfo, BtfLoadOptions } from "../sys/btf-attr.js";

/**
 * BTF loaded in the kernel: object BTF that maps and programs refer to (`btf_fd`), or kernel
 * BTF opened by id. Owns one Fd: close it (or `using`) when done; maps and programs that were
 * created with it keep their own reference.
 */
export class Btf implements Disposable {
  /** The owned file descriptor. */
  readonly fd: Fd;
  /** The kernel's BTF log of the load (empty unless a log level was asked for). */
  readonly log: string;

  private constructor(fd: Fd, log = "") {
    this.fd = fd;
    this.log = log;
  }

  /**
   * Load BTF into the kernel (BPF_BTF_LOAD) from a blob, a parsed BtfSpec (its bytes as they
   * are when little-endian, else re-marshalled; split specs are refused), or a list of types.
   * Object BTF from clang needs `fixupDatasecs` first (and `sanitizeBtf` on old kernels).
   * Min kernel 4.18. Throws BpfError with the kernel's BTF log tail, TypeError for bad options.
   * The caller owns the result and closes it.
   */
  static load(source: Uint8Array | BtfSpec | readonly BtfTypeInit[], options?: BtfLoadOptions): Btf {
    let blob: Uint8Array;
    if (source instanceof Uint8Array) blob = source;
    else if (Array.isArray(source)) blob = marshalBtf(source as BtfTypeInit[]);
    else {
      const spec = source as BtfSpec;
      if (spec.base) throw new TypeError("Btf.load: split BTF cannot be loaded from user space (its base is kernel BTF)");
      blob = spec.byteOrder === "little" ? spec.bytes : marshalBtf([...spec]);
    }
    const { fd, log } = btfLoad(blob, options);
    return new Btf(fd, log);
  }

  /** Open loaded BTF by its kernel id (BPF_BTF_GET_FD_BY_ID). Min kernel 5.0. Throws BpfError (ENOENT). */
  static fromId(id: number): Btf {
    return new Btf(getFdById("btf", id));
  }

  /**
   * The info of every BTF object in the kernel (vmlinux, modules, programs' and maps' BTF), in
   * id order (BPF_BTF_GET_NEXT_ID, then BPF_OBJ_GET_INFO_BY_FD on each); objects freed while
   * listing are skipped. Open one with `Btf.fromId(info.id)`. Min kernel 5.0. Throws BpfError.
   */
  static list(): BtfInfo[] {
    return readEach("btf", (fd) => btfInfo(fd));
  }

  /** The kernel's info on this BTF (BPF_OBJ_GET_INFO_BY_FD). Throws BpfError, ClosedError. */
  info(): BtfInfo {
    return btfInfo(this.fd);
  }

  /** The BTF blob as the kernel holds it. Throws BpfError, ClosedError. */
  bytes(): Uint8Array {
    return btfBytes(this.fd);
  }

  /**
   * Parse the kernel's copy of this BTF. Split (module) BTF needs its `base` (vmlinux, see
   * kernelBtf()). Throws ParseError, BpfError.
   */
  spec(base?: BtfSpec): BtfSpec {
    return parseBtf(this.bytes(), { base, lazy: true });
  }

  /** Close the fd. Idempotent. */
  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
