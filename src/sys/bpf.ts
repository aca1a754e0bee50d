/**
 * The bpf(2) system call: command numbers (UAPI `enum bpf_cmd`) and one entry point that turns
 * a failure into a BpfError naming the command.
 */
import { BpfError } from "../errors.js";
import { errno, NativeMemory, SYS, syscall3 } from "./libc.js";

/** `enum bpf_cmd` of Linux 6.18. */
export const BpfCmd = {
  BPF_MAP_CREATE: 0,
  BPF_MAP_LOOKUP_ELEM: 1,
  BPF_MAP_UPDATE_ELEM: 2,
  BPF_MAP_DELETE_ELEM: 3,
  BPF_MAP_GET_NEXT_KEY: 4,
  BPF_PROG_LOAD: 5,
  BPF_OBJ_PIN: 6,
  BPF_OBJ_GET: 7,
  BPF_PROG_ATTACH: 8,
  BPF_PROG_DETACH: 9,
  BPF_PROG_TEST_RUN: 10,
  BPF_PROG_GET_NEXT_ID: 11,
  BPF_MAP_GET_NEXT_ID: 12,
  BPF_PROG_GET_FD_BY_ID: 13,
  BPF_MAP_GET_FD_BY_ID: 14,
  BPF_OBJ_GET_INFO_BY_FD: 15,
  BPF_PROG_QUERY: 16,
  BPF_RAW_TRACEPOINT_OPEN: 17,
  BPF_BTF_LOAD: 18,
  BPF_BTF_GET_FD_BY_ID: 19,
  BPF_TASK_FD_QUERY: 20,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM: 21,
  BPF_MAP_FREEZE: 22,
  BPF_BTF_GET_NEXT_ID: 23,
  BPF_MAP_LOOKUP_BATCH: 24,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH: 25,
  BPF_MAP_UPDATE_BATCH: 26,
  BPF_MAP_DELETE_BATCH: 27,
  BPF_LINK_CREATE: 28,
  BPF_LINK_UPDATE: 29,
  BPF_LINK_GET_FD_BY_ID: 30,
  BPF_LINK_GET_NEXT_ID: 31,
  BPF_ENABLE_STATS: 32,
  BPF_ITER_CREATE: 33,
  BPF_LINK_DETACH: 34,
  BPF_PROG_BIND_MAP: 35,
  BPF_TOKEN_CREATE: 36,
} as const;
export type BpfCmdName = keyof typeof BpfCmd;

const NAMES: string[] = [];
for (const [name, n] of Object.entries(BpfCmd)) NAMES[n] = name;

/** The UAPI name of a bpf command number. */
export function bpfCmdName(cmd: number): string {
  return NAMES[cmd] ?? `BPF_CMD_${cmd}`;
}

/**
 * Call bpf(2) with an attr that lives at `attr.address`, `size` bytes long. Returns the
 * syscall's non-negative result; throws BpfError (with `context` leading its message).
 */
export function bpfCall(cmd: number, attr: NativeMemory, size: number, context?: string): number {
  const r = syscall3(SYS.bpf, cmd, attr.address, size);
  if (r < 0) throw new BpfError(bpfCmdName(cmd), errno(), { context });
  return r;
}

/** Like bpfCall but returns `-errno` instead of throwing, for hot paths that expect failure (ENOENT). */
export function bpfCallRaw(cmd: number, attrAddress: number, size: number): number {
  const r = syscall3(SYS.bpf, cmd, attrAddress, size);
  return r < 0 ? -errno() : r;
}
