/**
 * A loaded program's debug facts as the kernel keeps them (bpf_prog_linfo's role): BTF line
 * info (which source line each translated instruction comes from), the JIT'd address of each
 * line info record, func info (where each function starts), and the JIT'd functions' addresses
 * and lengths. From BPF_OBJ_GET_INFO_BY_FD, two calls: one learns the counts, one fills arrays.
 */
import { NativeMemory } from "../sys/libc.js";
import { objGetInfoByFd } from "../sys/obj.js";
import { PROG_INFO } from "../sys/prog-attr.js";
import type { Fd } from "../sys/fd.js";

/** One `struct bpf_line_info` of a loaded program. */
export interface KernelLineInfo {
  /** Index (8-byte slot) of the first translated instruction of this line. */
  readonly insnOff: number;
  /** Offsets into the program's BTF string table: the file name and the line's text. */
  readonly fileNameOff: number;
  readonly lineOff: number;
  readonly line: number;
  readonly column: number;
}

/** One `struct bpf_func_info` of a loaded program. */
export interface KernelFuncInfo {
  /** Index (8-byte slot) of the function's first translated instruction. */
  readonly insnOff: number;
  /** BTF id of the FUNC in the program's BTF. */
  readonly typeId: number;
}

/** What a program's info holds about its lines, functions and JIT'd code. */
export interface ProgramDebugInfo {
  /** Id of the program's BTF (0: none; then lineInfo and funcInfo are empty). */
  readonly btfId: number;
  readonly lineInfo: readonly KernelLineInfo[];
  /**
   * Kernel address of the JIT'd code of each line info record (parallel to `lineInfo`), empty
   * when not JIT'd or when kernel addresses are hidden (kptr_restrict).
   */
  readonly jitedLineAddresses: readonly bigint[];
  readonly funcInfo: readonly KernelFuncInfo[];
  /** Kernel address of each JIT'd function (main program first), and its length in bytes. */
  readonly jitedFunctionAddresses: readonly bigint[];
  readonly jitedFunctionLengths: readonly number[];
  /** The JIT'd machine code, all functions one after another (empty when not JIT'd or hidden). */
  readonly jitedCode: Uint8Array;
}

/**
 * Read a program's line info, func info and JIT facts (bpf_prog_linfo's data). Min kernel 5.0
 * (line info); fields the kernel hides read empty. Throws BpfError, ClosedError.
 */
export function readProgramDebugInfo(fd: Fd | number, what = "program"): ProgramDebugInfo {
  const mem = new NativeMemory(PROG_INFO.size);
  objGetInfoByFd(fd, mem, what);
  const v0 = mem.view;
  const counts = {
    nrLine: v0.getUint32(PROG_INFO.nr_line_info, true),
    lineRec: v0.getUint32(PROG_INFO.line_info_rec_size, true) || 16,
    nrJLine: v0.getUint32(PROG_INFO.nr_jited_line_info, true),
    jLineRec: v0.getUint32(PROG_INFO.jited_line_info_rec_size, true) || 8,
    nrFunc: v0.getUint32(PROG_INFO.nr_func_info, true),
    funcRec: v0.getUint32(PROG_INFO.func_info_rec_size, true) || 8,
    nrKsyms: v0.getUint32(PROG_INFO.nr_jited_ksyms, true),
    nrLens: v0.getUint32(PROG_INFO.nr_jited_func_lens, true),
    jitedLen: v0.getUint32(PROG_INFO.jited_prog_len, true),
  };
  const btfId = v0.getUint32(PROG_INFO.btf_id, true);
  const buf = (n: number) => new NativeMemory(Math.max(n, 8));
  const line = buf(counts.nrLine * counts.lineRec);
  const jline = buf(counts.nrJLine * counts.jLineRec);
  const func = buf(counts.nrFunc * counts.funcRec);
  const ksyms = buf(counts.nrKsyms * 8);
  const lens = buf(counts.nrLens * 4);
  const code = buf(counts.jitedLen);
  mem.bytes.fill(0);
  const v = mem.view;
  const set = (countOff: number, n: number, ptrOff: number, m: NativeMemory, recOff?: number, rec?: number) => {
    v.setUint32(countOff, n, true);
    v.setBigUint64(ptrOff, BigInt(m.address), true);
    if (recOff !== undefined) v.setUint32(recOff, rec!, true);
  };
  set(PROG_INFO.nr_line_info, counts.nrLine, PROG_INFO.line_info, line, PROG_INFO.line_info_rec_size, counts.lineRec);
  set(PROG_INFO.nr_jited_line_info, counts.nrJLine, PROG_INFO.jited_line_info, jline, PROG_INFO.jited_line_info_rec_size, counts.jLineRec);
  set(PROG_INFO.nr_func_info, counts.nrFunc, PROG_INFO.func_info, func, PROG_INFO.func_info_rec_size, counts.funcRec);
  set(PROG_INFO.nr_jited_ksyms, counts.nrKsyms, PROG_INFO.jited_ksyms, ksyms);
  set(PROG_INFO.nr_jited_func_lens, counts.nrLens, PROG_INFO.jited_func_lens, lens);
  set(PROG_INFO.jited_prog_len, counts.jitedLen, PROG_INFO.jited_prog_insns, code);
  objGetInfoByFd(fd, mem, what);
  // Counts can only shrink between the calls (they are fixed at load); the kernel zeroes a
  // pointer it will not fill (kernel addresses hidden).
  const n = (off: number, max: number) => Math.min(max, v.getUint32(off, true));
  const filled = (ptrOff: number) => v.getBigUint64(ptrOff, true) !== 0n;
  const lineInfo: KernelLineInfo[] = [];
  for (let i = 0; i < n(PROG_INFO.nr_line_info, counts.nrLine); i++) {
    const o = i * counts.lineRec;
    const lc = line.view.getUint32(o + 12, true);
    lineInfo.push({
      insnOff: line.view.getUint32(o, true),
      fileNameOff: line.view.getUint32(o + 4, true),
      lineOff: line.view.getUint32(o + 8, true),
      line: lc >>> 10,
      column: lc & 0x3ff,
    });
  }
  const jitedLineAddresses: bigint[] = [];
  if (filled(PROG_INFO.jited_line_info)) {
    for (let i = 0; i < n(PROG_INFO.nr_jited_line_info, counts.nrJLine); i++) jitedLineAddresses.push(jline.view.getBigUint64(i * counts.jLineRec, true));
  }
  const funcInfo: KernelFuncInfo[] = [];
  for (let i = 0; i < n(PROG_INFO.nr_func_info, counts.nrFunc); i++) {
    const o = i * counts.funcRec;
    funcInfo.push({ insnOff: func.view.getUint32(o, true), typeId: func.view.getUint32(o + 4, true) });
  }
  const jitedFunctionAddresses: bigint[] = [];
  if (filled(PROG_INFO.jited_ksyms)) for (let i = 0; i < n(PROG_INFO.nr_jited_ksyms, counts.nrKsyms); i++) jitedFunctionAddresses.push(ksyms.view.getBigUint64(i * 8, true));
  const jitedFunctionLengths: number[] = [];
  for (let i = 0; i < n(PROG_INFO.nr_jited_func_lens, counts.nrLens); i++) jitedFunctionLengths.push(lens.view.getUint32(i * 4, true));
  const jitedCode = filled(PROG_INFO.jited_prog_insns) ? code.bytes.slice(0, n(PROG_INFO.jited_prog_len, counts.jitedLen)) : new Uint8Array(0);
  return { btfId, lineInfo, jitedLineAddresses, funcInfo, jitedFunctionAddresses, jitedFunctionLengths, jitedCode };
}
