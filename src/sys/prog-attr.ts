/**
 * `bpf_attr` layouts for the program commands (BPF_PROG_LOAD, BPF_PROG_TEST_RUN,
 * BPF_PROG_BIND_MAP, BPF_ENABLE_STATS) and the layout of `struct bpf_prog_info`, as of the
 * Linux 6.18 UAPI (offsets checked against the running kernel's BTF).
 *
 * The functions here take plain numbers and byte arrays, copy what the kernel reads into native
 * memory, and return raw results: policy (retrying, logs, error messages) lives in
 * `src/program/`.
 */
import { BpfError } from "../errors.js";
import { BpfCmd, bpfCall } from "./bpf.js";
import { Fd } from "./fd.js";
import { errno, NativeMemory, SYS, syscall3 } from "./libc.js";
import { withReportSignalsDeferred } from "./signals.js";

/** Byte offsets of the BPF_PROG_LOAD fields of `union bpf_attr` (Linux 6.18). */
export const PROG_LOAD = {
  prog_type: 0,
  insn_cnt: 4,
  insns: 8,
  license: 16,
  log_level: 24,
  log_size: 28,
  log_buf: 32,
  kern_version: 40,
  prog_flags: 44,
  prog_name: 48, // char[16]
  prog_ifindex: 64,
  expected_attach_type: 68,
  prog_btf_fd: 72,
  func_info_rec_size: 76,
  func_info: 80,
  func_info_cnt: 88,
  line_info_rec_size: 92,
  line_info: 96,
  line_info_cnt: 104,
  attach_btf_id: 108,
  attach_prog_fd: 112, // union with attach_btf_obj_fd
  core_relo_cnt: 116,
  fd_array: 120,
  core_relos: 128,
  core_relo_rec_size: 136,
  log_true_size: 140,
  prog_token_fd: 144,
  fd_array_cnt: 148,
  signature: 152,
  signature_size: 160,
  keyring_id: 164,
  /** sizeof the PROG_LOAD part of bpf_attr in 6.18. */
  size: 168,
} as const;

/** Byte offsets of the BPF_PROG_TEST_RUN fields (`attr.test`, Linux 6.18). */
export const PROG_TEST_RUN = {
  prog_fd: 0,
  retval: 4,
  data_size_in: 8,
  data_size_out: 12,
  data_in: 16,
  data_out: 24,
  repeat: 32,
  duration: 36,
  ctx_size_in: 40,
  ctx_size_out: 44,
  ctx_in: 48,
  ctx_out: 56,
  flags: 64,
  cpu: 68,
  batch_size: 72,
  size: 80,
} as const;

/** Byte offsets of the BPF_PROG_BIND_MAP fields (Linux 5.10+). */
export const PROG_BIND_MAP = { prog_fd: 0, map_fd: 4, flags: 8, size: 16 } as const;

/** Byte offsets of `struct bpf_prog_info` (Linux 6.18, 232 bytes). */
export const PROG_INFO = {
  type: 0,
  id: 4,
  tag: 8, // u8[8]
  jited_prog_len: 16,
  xlated_prog_len: 20,
  jited_prog_insns: 24,
  xlated_prog_insns: 32,
  load_time: 40,
  created_by_uid: 48,
  nr_map_ids: 52,
  map_ids: 56,
  name: 64, // char[16]
  ifindex: 80,
  gpl_compatible: 84, // bit 0
  netns_dev: 88,
  netns_ino: 96,
  nr_jited_ksyms: 104,
  nr_jited_func_lens: 108,
  jited_ksyms: 112,
  jited_func_lens: 120,
  btf_id: 128,
  func_info_rec_size: 132,
  func_info: 136,
  nr_func_info: 144,
  nr_line_info: 148,
  line_info: 152,
  jited_line_info: 160,
  nr_jited_line_info: 168,
  line_info_rec_size: 172,
  jited_line_info_rec_size: 176,
  nr_prog_tags: 180,
  prog_tags: 184,
  run_time_ns: 192,
  run_cnt: 200,
  recursion_misses: 208,
  verified_insns: 216,
  attach_btf_obj_id: 220,
  attach_btf_id: 224,
  size: 232,
} as const;

/** `prog_flags` bits of BPF_PROG_LOAD. */
export const BPF_F_STRICT_ALIGNMENT = 1 << 0;
export const BPF_F_ANY_ALIGNMENT = 1 << 1;
export const BPF_F_TEST_RND_HI32 = 1 << 2;
export const BPF_F_TEST_STATE_FREQ = 1 << 3;
export const BPF_F_SLEEPABLE = 1 << 4;
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;
export const BPF_F_XDP_DEV_BOUND_ONLY = 1 << 6;
export const BPF_F_TEST_REG_INVARIANTS = 1 << 7;
export const BPF_F_TOKEN_FD = 1 << 16;

/** `flags` bits of BPF_PROG_TEST_RUN. */
export const BPF_F_TEST_RUN_ON_CPU = 1 << 0;
export const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
export const BPF_F_TEST_SKB_CHECKSUM_COMPLETE = 1 << 2;

/** `enum bpf_stats_type` for BPF_ENABLE_STATS. */
export const BPF_STATS_RUN_TIME = 0;

/** The largest log buffer the kernel accepts (`log_size` ≤ UINT_MAX >> 2). */
export const MAX_LOG_SIZE = 0xffffffff >>> 2;

/** What BPF_PROG_LOAD needs, as plain values; progLoad copies the bytes into native memory. */
export interface ProgLoadAttr {
  progType: number;
  /** Encoded instructions, 8 bytes per slot. */
  insns: Uint8Array;
  license: string;
  /** Program name, at most 15 bytes of [A-Za-z0-9_.]. */
  name?: string;
  kernVersion?: number;
  progFlags?: number;
  ifindex?: number;
  expectedAttachType?: number;
  btfFd?: number;
  funcInfo?: Uint8Array;
  funcInfoRecSize?: number;
  lineInfo?: Uint8Array;
  lineInfoRecSize?: number;
  attachBtfId?: number;
  /** attach_prog_fd, or attach_btf_obj_fd (the same field). */
  attachFd?: number;
  coreRelos?: Uint8Array;
  coreReloRecSize?: number;
  fdArray?: readonly number[];
  tokenFd?: number;
  /** A log buffer: the verifier writes its log here. */
  log?: { level: number; buffer: NativeMemory };
}

/** What BPF_PROG_LOAD answered: an fd (`fd >= 0`) or an errno, and the log's true size. */
export interface ProgLoadResult {
  /** The new program's fd, or -1 on failure. */
  fd: number;
  /** errno on failure, 0 on success. */
  errno: number;
  /** `log_true_size`: bytes the whole log needs, with its NUL (Linux 6.4+; 0 before). */
  logTrueSize: number;
}

// BPF_PROG_LOAD is synchronous and calls back into no JavaScript, so one attr block and one
// arena for everything the attr points to (instructions, license, func/line info, CO-RE
// relocations, fd_array) serve every load: a collection of 50 programs otherwise allocates
// 250+ off-heap buffers. The arena grows to the largest load seen, up to ARENA_KEEP bytes;
// a larger load gets a buffer of its own that is dropped afterwards.
const ARENA_KEEP = 1 << 20;
let loadAttr: NativeMemory | undefined;
let arena: NativeMemory | undefined;

// The license of the previous load, encoded: a collection's programs share one.
let lastLicense = "";
let lastLicenseBytes = new Uint8Array(1);

/** Bytes `n` takes in the arena, rounded up to 8 so every record array stays aligned. */
function arenaSize(n: number): number {
  return (n + 7) & ~7;
}

// Where put() copies to: the arena (or a one-off buffer for a load over ARENA_KEEP, which this
// keeps referenced until its syscall returns) and how far it is filled.
let putMemory: NativeMemory | undefined;
let putAt = 0;

/** Copy `b` into the current load's memory; returns its native address. */
function put(b: Uint8Array): number {
  const mem = putMemory!;
  mem.bytes.set(b, putAt);
  const address = mem.address + putAt;
  putAt += arenaSize(b.length);
  return address;
}

/** Write a native address as two u32 halves (user addresses fit in 47 bits: no BigInt). */
function setAddress(v: DataView, offset: number, address: number): void {
  v.setUint32(offset, address % 0x100000000, true);
  v.setUint32(offset + 4, Math.floor(address / 0x100000000), true);
}

/**
 * Call BPF_PROG_LOAD once with `a`. Never throws for a kernel refusal: the caller decides
 * whether to retry with a log. The fd in the result is owned by the caller. Min kernel 3.18
 * (each field has its own minimum; unknown non-zero fields give E2BIG on older kernels).
 */
export function progLoad(a: ProgLoadAttr): ProgLoadResult {
  const attr = (loadAttr ??= new NativeMemory(PROG_LOAD.size));
  attr.bytes.fill(0);
  const v = attr.view;
  if (a.license !== lastLicense) {
    lastLicenseBytes = Buffer.from(`${a.license}\0`, "utf8");
    lastLicense = a.license;
  }
  const license = lastLicenseBytes;
  const funcInfo = a.funcInfo !== undefined && a.funcInfo.length > 0 ? a.funcInfo : undefined;
  const lineInfo = a.lineInfo !== undefined && a.lineInfo.length > 0 ? a.lineInfo : undefined;
  const coreRelos = a.coreRelos !== undefined && a.coreRelos.length > 0 ? a.coreRelos : undefined;
  const fdArray = a.fdArray !== undefined && a.fdArray.length > 0 ? a.fdArray : undefined;
  const need =
    arenaSize(a.insns.length) + arenaSize(license.length) + arenaSize(funcInfo?.length ?? 0) +
    arenaSize(lineInfo?.length ?? 0) + arenaSize(coreRelos?.length ?? 0) + arenaSize((fdArray?.length ?? 0) * 4);
  let mem = arena;
  if (mem === undefined || mem.length < need) {
    mem = new NativeMemory(need <= ARENA_KEEP ? Math.max(4096, 2 ** Math.ceil(Math.log2(need))) : need);
    if (mem.length <= ARENA_KEEP) arena = mem;
  }
  putMemory = mem;
  putAt = 0;
  v.setUint32(PROG_LOAD.prog_type, a.progType, true);
  v.setUint32(PROG_LOAD.insn_cnt, a.insns.length / 8, true);
  setAddress(v, PROG_LOAD.insns, put(a.insns));
  setAddress(v, PROG_LOAD.license, put(license));
  if (a.log) {
    v.setUint32(PROG_LOAD.log_level, a.log.level, true);
    v.setUint32(PROG_LOAD.log_size, a.log.buffer.length, true);
    setAddress(v, PROG_LOAD.log_buf, a.log.buffer.address);
    a.log.buffer.bytes[0] = 0;
  }
  v.setUint32(PROG_LOAD.kern_version, a.kernVersion ?? 0, true);
  v.setUint32(PROG_LOAD.prog_flags, a.progFlags ?? 0, true);
  if (a.name) {
    const name = a.name;
    let ascii = name.length <= 15;
    for (let i = 0; ascii && i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c === 0 || c > 0x7f) ascii = false;
      else attr.bytes[PROG_LOAD.prog_name + i] = c;
    }
    if (!ascii) {
      attr.bytes.fill(0, PROG_LOAD.prog_name, PROG_LOAD.prog_name + 16);
      attr.bytes.set(Buffer.from(name, "utf8").subarray(0, 15), PROG_LOAD.prog_name);
    }
  }
  v.setUint32(PROG_LOAD.prog_ifindex, a.ifindex ?? 0, true);
  v.setUint32(PROG_LOAD.expected_attach_type, a.expectedAttachType ?? 0, true);
  v.setUint32(PROG_LOAD.prog_btf_fd, a.btfFd ?? 0, true);
  if (funcInfo) {
    const rec = a.funcInfoRecSize ?? 8;
    v.setUint32(PROG_LOAD.func_info_rec_size, rec, true);
    setAddress(v, PROG_LOAD.func_info, put(funcInfo));
    v.setUint32(PROG_LOAD.func_info_cnt, Math.floor(funcInfo.length / rec), true);
  }
  if (lineInfo) {
    const rec = a.lineInfoRecSize ?? 16;
    v.setUint32(PROG_LOAD.line_info_rec_size, rec, true);
    setAddress(v, PROG_LOAD.line_info, put(lineInfo));
    v.setUint32(PROG_LOAD.line_info_cnt, Math.floor(lineInfo.length / rec), true);
  }
  v.setUint32(PROG_LOAD.attach_btf_id, a.attachBtfId ?? 0, true);
  v.setUint32(PROG_LOAD.attach_prog_fd, a.attachFd ?? 0, true);
  if (coreRelos) {
    const rec = a.coreReloRecSize ?? 16;
    v.setUint32(PROG_LOAD.core_relo_cnt, Math.floor(coreRelos.length / rec), true);
    setAddress(v, PROG_LOAD.core_relos, put(coreRelos));
    v.setUint32(PROG_LOAD.core_relo_rec_size, rec, true);
  }
  if (fdArray) {
    const fds = new Uint8Array(fdArray.length * 4);
    const fv = new DataView(fds.buffer);
    for (let i = 0; i < fdArray.length; i++) fv.setInt32(i * 4, fdArray[i], true);
    setAddress(v, PROG_LOAD.fd_array, put(fds));
    // fd_array_cnt (6.15+) is left 0: with it the kernel binds every map in the array, which
    // older kernels reject as an unknown field.
  }
  if (a.tokenFd !== undefined) v.setInt32(PROG_LOAD.prog_token_fd, a.tokenFd, true);
  const r = syscall3(SYS.bpf, BpfCmd.BPF_PROG_LOAD, attr.address, PROG_LOAD.size);
  const e = r < 0 ? errno() : 0;
  putMemory = undefined;
  const logTrueSize = v.getUint32(PROG_LOAD.log_true_size, true);
  return { fd: r < 0 ? -1 : r, errno: e, logTrueSize };
}

/**
 * A preallocated BPF_PROG_TEST_RUN attr for one program: the hot path writes only the fields
 * that changed since the previous run and calls bpf(2) with no allocation. Buffers passed in
 * must be native memory.
 */
export class TestRunAttr {
  readonly memory = new NativeMemory(PROG_TEST_RUN.size);
  readonly view = this.memory.view;
  readonly address = this.memory.address;
  // What the input fields hold now; -1 = never written. The kernel writes only retval,
  // data_size_out, duration and ctx_size_out, which set() rewrites every time.
  #progFd = -1;
  #dataIn = -1;
  #dataSizeIn = -1;
  #dataOut = -1;
  #ctxIn = -1;
  #ctxSizeIn = -1;
  #ctxOut = -1;
  #repeat = -1;
  #flags = -1;
  #cpu = -1;
  #batchSize = -1;

  #address64(offset: number, address: number): void {
    // Addresses of user memory fit in 47 bits: two u32 writes avoid a BigInt.
    this.view.setUint32(offset, address % 0x100000000, true);
    this.view.setUint32(offset + 4, Math.floor(address / 0x100000000), true);
  }

  /** Set every input field. Addresses are native addresses (0 for none); sizes in bytes. */
  set(
    progFd: number,
    dataIn: number, dataSizeIn: number, dataOut: number, dataSizeOut: number,
    ctxIn: number, ctxSizeIn: number, ctxOut: number, ctxSizeOut: number,
    repeat: number, flags: number, cpu: number, batchSize: number,
  ): void {
    const v = this.view;
    if (progFd !== this.#progFd) v.setUint32(0, (this.#progFd = progFd), true);
    if (dataSizeIn !== this.#dataSizeIn) v.setUint32(8, (this.#dataSizeIn = dataSizeIn), true);
    v.setUint32(12, dataSizeOut, true);
    if (dataIn !== this.#dataIn) this.#address64(16, (this.#dataIn = dataIn));
    if (dataOut !== this.#dataOut) this.#address64(24, (this.#dataOut = dataOut));
    if (repeat !== this.#repeat) v.setUint32(32, (this.#repeat = repeat), true);
    v.setUint32(36, 0, true); // duration: syscall programs refuse a non-zero one
    if (ctxSizeIn !== this.#ctxSizeIn) v.setUint32(40, (this.#ctxSizeIn = ctxSizeIn), true);
    v.setUint32(44, ctxSizeOut, true);
    if (ctxIn !== this.#ctxIn) this.#address64(48, (this.#ctxIn = ctxIn));
    if (ctxOut !== this.#ctxOut) this.#address64(56, (this.#ctxOut = ctxOut));
    if (flags !== this.#flags) v.setUint32(64, (this.#flags = flags), true);
    if (cpu !== this.#cpu) v.setUint32(68, (this.#cpu = cpu), true);
    if (batchSize !== this.#batchSize) v.setUint32(72, (this.#batchSize = batchSize), true);
  }

  /** Prepare a repeat of the last configuration: rewrite what the kernel wrote back. */
  reset(progFd: number, dataSizeOut: number, ctxSizeOut: number): void {
    const v = this.view;
    if (progFd !== this.#progFd) v.setUint32(0, (this.#progFd = progFd), true);
    v.setUint32(12, dataSizeOut, true);
    v.setUint32(36, 0, true);
    v.setUint32(44, ctxSizeOut, true);
  }

  /**
   * Call BPF_PROG_TEST_RUN; returns 0 or -errno (never throws). A repeated run (`repeat` > 1)
   * is made with the signals that only report deferred (see withReportSignalsDeferred), so
   * the kernel runs the program exactly `repeat` times unless a stop signal (SIGINT, SIGTERM,
   * SIGHUP, SIGQUIT) arrives, which ends it with EINTR after an unknown number of runs.
   */
  call(): number {
    if (this.#repeat > 1) return withReportSignalsDeferred(this.#callOnce);
    return this.#callOnce();
  }

  #callOnce = (): number => {
    const r = syscall3(SYS.bpf, BpfCmd.BPF_PROG_TEST_RUN, this.address, PROG_TEST_RUN.size);
    return r < 0 ? -errno() : 0;
  };

  get retval(): number {
    return this.view.getUint32(PROG_TEST_RUN.retval, true);
  }
  get duration(): number {
    return this.view.getUint32(PROG_TEST_RUN.duration, true);
  }
  get dataSizeOut(): number {
    return this.view.getUint32(PROG_TEST_RUN.data_size_out, true);
  }
  get ctxSizeOut(): number {
    return this.view.getUint32(PROG_TEST_RUN.ctx_size_out, true);
  }
}

/**
 * Bind a map to a program (BPF_PROG_BIND_MAP) so the map lives as long as the program, even
 * if no instruction refers to it. Min kernel 5.10. Throws BpfError.
 */
export function progBindMap(progFd: number, mapFd: number, context?: string): void {
  const attr = new NativeMemory(PROG_BIND_MAP.size);
  attr.view.setUint32(PROG_BIND_MAP.prog_fd, progFd, true);
  attr.view.setUint32(PROG_BIND_MAP.map_fd, mapFd, true);
  bpfCall(BpfCmd.BPF_PROG_BIND_MAP, attr, PROG_BIND_MAP.size, context);
}

/**
 * Turn on run-time statistics of every program (BPF_ENABLE_STATS with BPF_STATS_RUN_TIME):
 * the kernel counts run_time_ns and run_cnt while the returned Fd is open. The caller owns and
 * closes the Fd. Min kernel 5.8. Throws BpfError.
 */
export function enableStats(type = BPF_STATS_RUN_TIME): Fd {
  const attr = new NativeMemory(8);
  attr.view.setUint32(0, type, true);
  const r = syscall3(SYS.bpf, BpfCmd.BPF_ENABLE_STATS, attr.address, 8);
  if (r < 0) throw new BpfError("BPF_ENABLE_STATS", errno(), { context: "enable program run-time statistics" });
  return new Fd(r, "stats");
}
