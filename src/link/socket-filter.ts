/**
 * Socket filters: attach a socket_filter program to one socket (setsockopt SO_ATTACH_BPF,
 * Linux 3.19). The program sees every packet the socket would receive and returns how many
 * bytes to keep (0 drops the packet).
 */
import { SyscallError } from "../errors.js";
import { errno, NativeMemory, SYS, syscall5 } from "../sys/libc.js";
import { expectProgramType, CallbackLink, programFd, programLabel, type AttachProgram, type Link } from "./link.js";
import { checkOptions } from "../errors.js";

const SOL_SOCKET = 1;
const SO_ATTACH_BPF = 50;
const SO_DETACH_BPF = 27;
const SO_ATTACH_REUSEPORT_EBPF = 52;
const SO_DETACH_REUSEPORT_BPF = 68;

/** Options of `attachSocketFilter`. */
export interface SocketFilterOptions {
  /** The socket's fd (for a Node socket: `socket._handle.fd`). */
  socket: number;
  /**
   * `"filter"` (default): SO_ATTACH_BPF, a socket_filter program. `"reuseport"`:
   * SO_ATTACH_REUSEPORT_EBPF, a program that picks the socket of a SO_REUSEPORT group.
   */
  kind?: "filter" | "reuseport";
}

function setsockopt(fd: number, opt: number, value: number | undefined, context: string, name: string): void {
  const mem = new NativeMemory(4);
  mem.view.setInt32(0, value ?? 0, true);
  if (syscall5(SYS.setsockopt, fd, SOL_SOCKET, opt, mem.address, 4) < 0) {
    const e = errno();
    throw new SyscallError("setsockopt", name, e, {
      context,
      hint: e === 88 ? "not a socket" : e === 9 ? "the socket fd is closed" : e === 22 ? "the program is not a socket_filter program" : undefined,
    });
  }
}

/**
 * Attach a socket filter to a socket. Close detaches it (SO_DETACH_BPF); closing the socket
 * drops it too. The Link does not own the socket. Throws TypeError, SyscallError.
 */
export function attachSocketFilter(program: AttachProgram<"socket_filter">, options: SocketFilterOptions): Link {
  checkOptions("attachSocketFilter", options, ["socket", "kind"]);
  const sock = options.socket;
  if (!Number.isInteger(sock) || sock < 0) throw new TypeError("attachSocketFilter: socket must be a file descriptor number");
  const kind = options.kind ?? "filter";
  if (kind !== "filter" && kind !== "reuseport") throw new TypeError('attachSocketFilter: kind must be "filter" or "reuseport"');
  expectProgramType(program, "socketFilter", "attachSocketFilter");
  const progFd = programFd(program, "attachSocketFilter: program");
  const label = `socket ${kind} ${programLabel(program)} on socket ${sock}`;
  const [attach, detach, an, dn] =
    kind === "filter"
      ? [SO_ATTACH_BPF, SO_DETACH_BPF, "SO_ATTACH_BPF", "SO_DETACH_BPF"]
      : [SO_ATTACH_REUSEPORT_EBPF, SO_DETACH_REUSEPORT_BPF, "SO_ATTACH_REUSEPORT_EBPF", "SO_DETACH_REUSEPORT_BPF"];
  setsockopt(sock, attach, progFd, `${label}: attach`, an);
  return new CallbackLink(
    kind === "filter" ? "socket_filter" : "reuseport",
    label,
    () => {
      try {
        setsockopt(sock, detach, 0, `${label}: detach`, dn);
      } catch (e) {
        // The socket was closed (EBADF) or the filter already removed (ENOENT): nothing left to undo.
        const c = (e as SyscallError).code;
        if (c !== "EBADF" && c !== "ENOENT" && c !== "ENOTSOCK") throw e;
      }
    },
    () => ({ type: kind === "filter" ? "socket_filter" : "reuseport", socket: sock }),
  );
}
