/**
 * Sockets for the socket-holding map tests (sockmap, sockhash, reuseport array): made by this
 * process, on loopback only, and closed by the caller.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { Fd } from "../../src/sys/fd.js";
import { errno, NativeMemory, SYS, syscall3, syscall5 } from "../../src/sys/libc.js";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;
const SO_COOKIE = 57;

/** An established TCP connection on 127.0.0.1: both ends and their fds. */
export interface TcpPair {
  server: Server;
  client: Socket;
  accepted: Socket;
  clientFd: number;
  acceptedFd: number;
  close(): Promise<void>;
}

function fdOfSocket(s: Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) throw new Error("no fd on this socket handle");
  return fd;
}

/** Connect a TCP client to a server on 127.0.0.1 and wait until both ends are established. */
export async function tcpPair(): Promise<TcpPair> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const acceptedP = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const client = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
  });
  const accepted = await acceptedP;
  return {
    server,
    client,
    accepted,
    clientFd: fdOfSocket(client),
    acceptedFd: fdOfSocket(accepted),
    async close() {
      client.destroy();
      accepted.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The socket cookie of `fd` (getsockopt SO_COOKIE), as the kernel reports it from sockmaps. */
export function socketCookie(fd: number): bigint {
  const val = new NativeMemory(8);
  const len = new NativeMemory(4);
  len.view.setUint32(0, 8, true);
  if (syscall5(SYS.getsockopt, fd, SOL_SOCKET, SO_COOKIE, val.address, len.address) !== 0) {
    throw new Error(`getsockopt(SO_COOKIE) failed: errno ${errno()}`);
  }
  return val.view.getBigUint64(0, true);
}

/** A UDP socket with SO_REUSEPORT bound to 127.0.0.1 on an ephemeral port, as reuseport arrays need. */
export function reuseportUdpSocket(): Fd {
  const fd = syscall3(SYS.socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket failed: errno ${errno()}`);
  const owned = new Fd(fd, "udp socket");
  const one = new NativeMemory(4);
  one.view.setUint32(0, 1, true);
  if (syscall5(SYS.setsockopt, fd, SOL_SOCKET, SO_REUSEPORT, one.address, 4) !== 0) {
    owned.close();
    throw new Error(`setsockopt(SO_REUSEPORT) failed: errno ${errno()}`);
  }
  const addr = new NativeMemory(16);
  addr.view.setUint16(0, AF_INET, true);
  addr.view.setUint16(2, 0, false);
  addr.view.setUint32(4, 0x7f000001, false);
  if (syscall3(SYS.bind, fd, addr.address, 16) !== 0) {
    owned.close();
    throw new Error(`bind failed: errno ${errno()}`);
  }
  return owned;
}
