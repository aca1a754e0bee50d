/**
 * BPF_PROG_STREAM_READ_BY_FD (Linux 6.17): read what a program wrote to its BPF stream (stdout
 * with the bpf_stream_vprintk kfunc; stderr also gets the kernel's own reports, e.g. a may_goto
 * timeout or an arena fault). Layout and numbers from the kernel's UAPI `linux/bpf.h`
 * (`enum bpf_cmd`, `union bpf_attr.prog_stream_read`, `BPF_STREAM_STDOUT/STDERR`).
 */
import { bpfCallRaw } from "./bpf.js";
import { NativeMemory } from "./libc.js";

/** The bpf(2) command number (enum bpf_cmd: after BPF_TOKEN_CREATE = 36). */
export const BPF_PROG_STREAM_READ_BY_FD = 37;
/** `BPF_STREAM_STDOUT` and `BPF_STREAM_STDERR`. */
export const BPF_STREAM = { stdout: 1, stderr: 2 } as const;
/** `struct { __aligned_u64 stream_buf; __u32 stream_buf_len; __u32 stream_id; __u32 prog_fd; }`. */
const ATTR = { stream_buf: 0, stream_buf_len: 8, stream_id: 12, prog_fd: 16, size: 20 } as const;

const attr = new NativeMemory(ATTR.size);

/**
 * Read up to `buffer.length` bytes of stream `streamId` of program `progFd` into `buffer`
 * (consuming them). Returns the byte count (0: nothing pending) or `-errno` (EINVAL from a
 * kernel without the command, EBADF/ENOENT for a bad fd or stream).
 */
export function progStreamRead(progFd: number, streamId: number, buffer: NativeMemory): number {
  const v = attr.view;
  v.setBigUint64(ATTR.stream_buf, BigInt(buffer.address), true);
  v.setUint32(ATTR.stream_buf_len, buffer.length, true);
  v.setUint32(ATTR.stream_id, streamId, true);
  v.setUint32(ATTR.prog_fd, progFd, true);
  return bpfCallRaw(BPF_PROG_STREAM_READ_BY_FD, attr.address, ATTR.size);
}
