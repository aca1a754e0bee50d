/** Loopback TCP for tests: socket addresses, and a connection that asks for a congestion control. */
import { errno, NativeMemory, SYS, syscall3, syscall5 } from "../../src/sys/libc.js";

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_TCP = 6;
const TCP_CONGESTION = 13;
const SYS_LISTEN = 50;
const SYS_CONNECT = 42;

/** sockaddr_in for ip:port. */
export function sockaddrIn(ip: string, port: number): NativeMemory {
  const sa = new NativeMemory(16);
  sa.view.setUint16(0, AF_INET, true);
  sa.view.setUint16(2, port, false);
  ip.split(".").forEach((o, i) => sa.view.setUint8(4 + i, Number(o)));
  return sa;
}

function check(what: string, r: number): void {
  if (r < 0) throw new Error(`${what}: errno ${errno()}`);
}

/**
 * Connect a TCP socket that asks for congestion control `cc` to a loopback listener, and return
 * what getsockopt(TCP_CONGESTION) says the connection uses. Throws when the kernel refuses `cc`.
 */
export function connectWithCongestionControl(cc: string): string {
  const srv = syscall3(SYS.socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const cl = syscall3(SYS.socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  try {
    check("socket", Math.min(srv, cl));
    const sa = sockaddrIn("127.0.0.1", 0);
    check("bind", syscall3(SYS.bind, srv, sa.address, 16));
    check("listen", syscall3(SYS_LISTEN, srv, 4, 0));
    const len = new NativeMemory(4);
    len.view.setUint32(0, 16, true);
    check("getsockname", syscall3(SYS.getsockname, srv, sa.address, len.address));
    const name = new NativeMemory(16);
    name.bytes.set(new TextEncoder().encode(cc));
    check(`setsockopt TCP_CONGESTION ${cc}`, syscall5(SYS.setsockopt, cl, IPPROTO_TCP, TCP_CONGESTION, name.address, cc.length));
    check("connect", syscall3(SYS_CONNECT, cl, sa.address, 16));
    const out = new NativeMemory(16);
    const outLen = new NativeMemory(4);
    outLen.view.setUint32(0, 16, true);
    check("getsockopt TCP_CONGESTION", syscall5(SYS.getsockopt, cl, IPPROTO_TCP, TCP_CONGESTION, out.address, outLen.address));
    const b = out.bytes;
    const end = b.indexOf(0);
    return new TextDecoder().decode(b.subarray(0, end < 0 ? 16 : end));
  } finally {
    if (cl >= 0) syscall3(SYS.close, cl, 0, 0);
    if (srv >= 0) syscall3(SYS.close, srv, 0, 0);
  }
}
