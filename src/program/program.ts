/**
 * `Program`: a program loaded into the kernel. It owns one Fd; closing it unloads the program
 * unless it is pinned, attached, or held by another fd.
 */
import { readlinkSync } from "node:fs";
import { Fd } from "../sys/fd.js";
import { BPF_F_RDONLY, getFdById, objGet, objPin, readEach } from "../sys/obj.js";
import { enableStats, progBindMap } from "../sys/prog-attr.js";
import { decodeInstructions } from "../asm/encoding.js";
import type { Instruction } from "../asm/instruction.js";
import { readProgramInfo, readTranslatedBytes, type ProgramInfo } from "./info.js";
import { readProgramDebugInfo, type ProgramDebugInfo } from "./line-info.js";
import { loadProgram, type KeptCode, type LoadedProgram, type MapFdLike, type ProgramLoadOptions } from "./load.js";
import type { ProgramSpec } from "../spec/program-spec.js";
import { programTypeNumber, type PROGRAM_KIND, type ProgramKindMark, type ProgramTypeName } from "../spec/program-type.js";
import { PreparedRun, TestRunner, type RunOptions, type RunResult } from "./test-run.js";
import { checkOptions } from "../errors.js";

/** Options of `Program.open` (a pinned program). */
export interface ProgramOpenOptions {
  /** Open read-only (BPF_F_RDONLY) or write-only (BPF_F_WRONLY); default read-write. */
  readonly?: boolean;
}

/**
 * While this handle is open, the kernel counts every program's run time and run count
 * (`ProgramInfo.runTimeNs` / `runCount`). Close it to stop counting (counting costs a little
 * per run).
 */
export class StatsHandle implements Disposable {
  readonly #fd: Fd;
  /** @internal */
  constructor(fd: Fd) {
    this.#fd = fd;
  }
  get closed(): boolean {
    return this.#fd.closed;
  }
  /** Stop counting (when no other handle is open). Idempotent. */
  close(): void {
    this.#fd.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * @internal `Program.load` with the kernel bytes of `spec.instructions` kept in `kept` between
 * loads (recorded by the first): for the collection loader, which knows when they are unchanged.
 */
export let loadWithKeptCode: (spec: ProgramSpec, options: ProgramLoadOptions, kept: KeptCode) => Program;

function mapFd(map: MapFdLike): number {
  if (typeof map === "number") return map;
  return typeof map.fd === "number" ? map.fd : map.fd.value;
}

/**
 * A program loaded into the kernel. `K` is its kind when the type system knows it (generated
 * bindings give `Program<"xdp">`), so attach functions refuse a program of another kind at
 * compile time; plain `Program` is a program of any kind, accepted everywhere as before.
 */
export class Program<K extends ProgramTypeName = ProgramTypeName> implements Disposable {
  /** Phantom: the kind in the type only (see PROGRAM_KIND); absent at run time. */
  declare readonly [PROGRAM_KIND]?: ProgramKindMark<K>;
  readonly #fd: Fd;
  #runner: TestRunner | undefined;
  /** The name the kernel keeps (at most 15 bytes), "" when loaded without one. */
  readonly name: string;
  /** Program type by name, or its number when this library does not know it. */
  readonly type: ProgramTypeName | number;
  /** The verifier's log of the load, when `logLevel` was given to `Program.load`. */
  readonly verifierLog?: string;

  private constructor(fd: Fd, name: string, type: ProgramTypeName | number, verifierLog?: string) {
    this.#fd = fd;
    this.name = name;
    this.type = type;
    if (verifierLog !== undefined) this.verifierLog = verifierLog;
  }

  /**
   * Load a program from its spec (BPF_PROG_LOAD). `options.maps` gives the maps that
   * instructions refer to by name. Loads without a log first; if the kernel refuses, loads
   * again with a log that grows until it holds the whole log. The caller owns the Program and
   * closes it. Min kernel 3.18 (name 4.15, attach fields 5.5). Throws TypeError/RangeError for
   * a bad spec (before any syscall), VerifierError (whole log in `.log`), BpfError (EPERM for
   * lack of privilege, EINVAL for a type or flag the kernel does not know, E2BIG…).
   */
  static load(spec: ProgramSpec, options?: ProgramLoadOptions): Program {
    return Program.#loaded(loadProgram(spec, options ?? {}));
  }

  static {
    loadWithKeptCode = (spec, options, kept) => Program.#loaded(loadProgram(spec, options, kept));
  }

  /** The Program for what loadProgram made (it owns the fd). */
  static #loaded(loaded: LoadedProgram): Program {
    return new Program(loaded.fd, loaded.name, loaded.type, loaded.log);
  }

  /**
   * Open a program pinned at `path` on bpffs (BPF_OBJ_GET). The caller owns the new Program;
   * the pin stays. Min kernel 4.4. Throws BpfError (ENOENT when nothing is pinned there),
   * TypeError when what is pinned there is not a program.
   */
  static open(path: string, options?: ProgramOpenOptions): Program {
    checkOptions("Program.open", options, ["readonly"]);
    const fd = objGet(path, options?.readonly ? BPF_F_RDONLY : 0, "program");
    return Program.#adopt(fd, `pinned program ${path}`);
  }

  /**
   * Open a loaded program by its id (BPF_PROG_GET_FD_BY_ID). The caller owns the new Program.
   * Min kernel 4.13. Throws BpfError (ENOENT when no program has this id).
   */
  static fromId(id: number): Program {
    return Program.#adopt(getFdById("prog", id), `program id ${id}`);
  }

  /**
   * The info of every program loaded in the kernel, in id order (BPF_PROG_GET_NEXT_ID, then
   * BPF_OBJ_GET_INFO_BY_FD on each). Programs unloaded while listing are skipped. Open one with
   * `Program.fromId(info.id)`. Min kernel 4.13. Throws BpfError (EPERM without CAP_SYS_ADMIN).
   */
  static list(): ProgramInfo[] {
    return readEach("prog", (fd, id) => readProgramInfo(fd, `program id ${id}`));
  }

  /**
   * Take ownership of an fd that refers to a program (e.g. one inherited from another process).
   * An fd that is not a BPF program (stdin, a file, a map) is refused with TypeError before
   * anything owns it: it stays open. Once it is known to be a program, the Program owns it and
   * closes it (also when reading its info throws BpfError).
   */
  static fromFd(fd: number): Program {
    if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0) throw new TypeError(`Program.fromFd: ${String(fd)} is not a file descriptor`);
    let kind: string | undefined;
    try {
      kind = readlinkSync(`/proc/self/fd/${fd}`);
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") throw new TypeError(`Program.fromFd: fd ${fd} is not open`);
      kind = undefined; // no /proc: cannot tell, #adopt asks the kernel
    }
    if (kind !== undefined && kind !== "anon_inode:bpf-prog") {
      throw new TypeError(`Program.fromFd: fd ${fd} is not a BPF program (it is ${kind}); it was left open`);
    }
    return Program.#adopt(new Fd(fd, "program"), `program fd ${fd}`);
  }

  static #adopt(fd: Fd, what: string): Program {
    try {
      // BPF_OBJ_GET and BPF_OBJ_GET_INFO_BY_FD take any BPF object: make sure this is a program.
      let kind: string | undefined;
      try {
        kind = readlinkSync(`/proc/self/fd/${fd.value}`);
      } catch {
        kind = undefined; // no /proc: cannot tell, trust the caller
      }
      if (kind !== undefined && kind !== "anon_inode:bpf-prog") {
        throw new TypeError(`${what} is not a BPF program (its fd is ${kind})`);
      }
      const info = readProgramInfo(fd, what);
      return new Program(fd, info.name, info.type);
    } catch (e) {
      fd.close();
      throw e;
    }
  }

  /**
   * Turn on run-time statistics for all programs (BPF_ENABLE_STATS, BPF_STATS_RUN_TIME) until
   * the handle is closed. Min kernel 5.8. Throws BpfError.
   */
  static enableStats(): StatsHandle {
    return new StatsHandle(enableStats());
  }

  /** The program's fd number. Throws ClosedError once closed. */
  get fd(): number {
    return this.#fd.value;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#fd.closed;
  }

  /**
   * Run the program once (or `repeat` times) on the given data/context with
   * BPF_PROG_TEST_RUN, without attaching it. Buffers are reused between calls. Min kernel 4.12
   * (ctx 5.2, cpu 5.10, batchSize 5.18). Throws BpfError (EINVAL for options the program type
   * does not take, ENOTSUPP for types without test run), ClosedError.
   */
  run(options?: RunOptions): RunResult {
    const fd = this.#fd.value;
    this.#runner ??= this.#newRunner();
    return this.#runner.run(fd, options);
  }

  /**
   * Prepare a test run to repeat in a loop: options are checked and data copied once, and each
   * `PreparedRun.run()` is one bpf(2) call with no allocation. The prepared run has its own
   * buffers (interleaving it with `run()` is fine) and uses this program until it is closed.
   * Throws TypeError/RangeError for bad options; its run() throws BpfError, ClosedError.
   */
  prepareRun(options?: RunOptions): PreparedRun {
    return new PreparedRun(this.#newRunner(), () => this.#fd.value, options);
  }

  #newRunner(): TestRunner {
    return new TestRunner(typeof this.type === "number" ? this.type : programTypeNumber(this.type), this.#what());
  }

  /** Read the program's info (BPF_OBJ_GET_INFO_BY_FD). Throws BpfError, ClosedError. */
  info(): ProgramInfo {
    return readProgramInfo(this.#fd, this.#what());
  }

  /**
   * The instructions as the kernel runs them, after the verifier rewrote them (bpftool's
   * `prog dump xlated`): map references hold map ids, helper calls may be inlined. Empty when
   * the kernel hides them from this process. Min kernel 4.13. Throws BpfError, ClosedError, and
   * ParseError for a kernel-internal encoding the decoder does not know.
   */
  translatedInstructions(): Instruction[] {
    const bytes = readTranslatedBytes(this.#fd, this.#what());
    return bytes.length === 0 ? [] : decodeInstructions(bytes);
  }

  /**
   * The program's line info, func info and JIT facts as the kernel keeps them (libbpf's
   * bpf_prog_linfo role): map a translated instruction or a JIT'd address to its source line
   * through the program's BTF (`Btf.fromId(btfId)`). Min kernel 5.0. Throws BpfError, ClosedError.
   */
  debugInfo(): ProgramDebugInfo {
    return readProgramDebugInfo(this.#fd, this.#what());
  }

  /**
   * Pin the program at `path` on bpffs (BPF_OBJ_PIN): it stays loaded after every fd is
   * closed, until the pin is removed (`fs.unlinkSync(path)`). Names must not contain dots.
   * Throws BpfError (EEXIST, EPERM off bpffs, ENOENT for a missing directory), ClosedError.
   */
  pin(path: string): void {
    objPin(this.#fd, path, this.#what());
  }

  /**
   * Keep `map` alive as long as this program, even though no instruction refers to it
   * (BPF_PROG_BIND_MAP), e.g. a metadata map. Min kernel 5.10. Throws BpfError, ClosedError.
   */
  bindMap(map: MapFdLike): void {
    progBindMap(this.#fd.value, mapFd(map), `${this.#what()}: bind map`);
  }

  /** A second, independent Program for the same kernel program (a dup of the fd). */
  clone(): Program {
    return new Program(this.#fd.dup(), this.name, this.type);
  }

  /** Close the program's fd. The kernel unloads it when nothing else holds it. Idempotent. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #what(): string {
    return this.name ? `program "${this.name}"` : "program";
  }
}

