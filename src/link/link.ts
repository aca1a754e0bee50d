/**
 * The common `Link`: what every attach function returns. A Link is either a kernel `bpf_link`
 * (BPF_LINK_CREATE, raw tracepoint open, perf event links) that can be pinned, updated and
 * detached by fd, or a legacy attachment (netlink XDP, tc filter, BPF_PROG_ATTACH, perf event
 * ioctl, socket option) that tsbpf detaches itself on close.
 *
 * Links are sealed: the interface carries a member keyed by a symbol that this module does
 * not export from the package, so only tsbpf's own attach functions can make one.
 */
import { unlinkSync } from "node:fs";
import { ClosedError, NotSupportedError, SyscallError, TsbpfError, checkOptions } from "../errors.js";
import { errno, SYS, syscall3 } from "../sys/libc.js";
import { Fd } from "../sys/fd.js";
import {
  BPF_F,
  linkDetach,
  linkInfo,
  linkTypeName,
  linkUpdate,
  type LinkTypeName,
} from "../sys/link-attr.js";
import { getFdById, listIds, objGet, objPin } from "../sys/obj.js";
import { attachTypeName, type PROGRAM_KIND, type ProgramKindMark, type ProgramTypeName } from "../spec/program-type.js";

/** @internal The seal. Not exported from the package index. */
export const LINK_SEAL: unique symbol = Symbol("tsbpf.link");

/**
 * A program as the attach functions accept it: a `Program`, anything with its fd, or a raw fd
 * number. `K` narrows the kinds a typed `Program<K>` may have (`attach.xdp` takes
 * `AttachProgram<"xdp">`, so a `Program<"tracepoint">` is a compile error there).
 */
export type AttachProgram<K extends ProgramTypeName = ProgramTypeName> =
  | number
  | Fd
  | { readonly fd: number | Fd; readonly name?: string; readonly [PROGRAM_KIND]?: ProgramKindMark<K> };

/** The raw fd of an AttachProgram. Throws ClosedError for a closed program, TypeError for anything else. */
export function programFd(p: AttachProgram, what = "program"): number {
  if (typeof p === "number") {
    if (!Number.isInteger(p) || p < 0) throw new TypeError(`${what}: ${p} is not a file descriptor`);
    return p;
  }
  if (p instanceof Fd) return p.value;
  if (p && typeof p === "object" && "fd" in p) {
    const fd = (p as { fd: unknown }).fd;
    if (fd instanceof Fd) return fd.value;
    if (typeof fd === "number" && Number.isInteger(fd) && fd >= 0) return fd;
    if (typeof fd === "number" && fd < 0) throw new ClosedError(what);
  }
  if (p === undefined) {
    throw new TypeError(`${what}: got undefined, not a program: a Collection's programs holds only the programs it loaded (check the name, and Collection.load's programs option)`);
  }
  throw new TypeError(`${what}: expected a Program, an Fd or an fd number`);
}

const F_DUPFD_CLOEXEC = 1030;

/**
 * A close-on-exec duplicate of fd `n` that the caller owns. Legacy attachments keep one of
 * their program (and map/cgroup) so the detach names the right object even after the caller
 * closed theirs — as a bpf_link holds its program. Throws SyscallError (EBADF for a closed fd).
 */
export function dupFd(n: number, what: string): Fd {
  const r = syscall3(SYS.fcntl, n, F_DUPFD_CLOEXEC, 3);
  if (r < 0) throw new SyscallError("fcntl", "F_DUPFD_CLOEXEC", errno(), { context: `${what}: keep a reference` });
  return new Fd(r, what);
}

/**
 * The program types each attach kind (the keys of the `attach` namespace) accepts: the one
 * table `expectProgramType` reads. `structOps` takes a map and `bySection` dispatches to
 * another kind, so neither is here.
 */
export const ATTACH_KIND_PROGRAM_TYPES = {
  xdp: ["xdp"],
  tcx: ["sched_cls"],
  tc: ["sched_cls", "sched_act"],
  netkit: ["sched_cls"],
  netfilter: ["netfilter"],
  cgroup: ["cgroup_skb", "cgroup_sock", "cgroup_sock_addr", "sock_ops", "cgroup_device", "cgroup_sysctl", "cgroup_sockopt", "lsm"],
  socketFilter: ["socket_filter", "sk_reuseport"],
  skLookup: ["sk_lookup"],
  flowDissector: ["flow_dissector"],
  sockmap: ["sk_skb", "sk_msg"],
  tracepoint: ["tracepoint"],
  rawTracepoint: ["raw_tracepoint", "raw_tracepoint_writable"],
  tpBtf: ["tracing"],
  tracing: ["tracing"],
  lsm: ["lsm"],
  freplace: ["ext"],
  iter: ["tracing"],
  perfEvent: ["perf_event"],
  kprobe: ["kprobe"],
  kprobeMulti: ["kprobe"],
  uprobe: ["kprobe"],
  uprobeMulti: ["kprobe"],
  usdt: ["kprobe"],
  lircMode2: ["lirc_mode2"],
} as const satisfies Record<string, readonly ProgramTypeName[]>;

/** An attach kind whose program type is checked before the syscall. */
export type AttachKind = keyof typeof ATTACH_KIND_PROGRAM_TYPES;

/**
 * Refuse, before any syscall, a Program whose type attach kind `kind` cannot take (an XDP
 * program given to attachTracepoint gets a bare EINVAL from the kernel otherwise). `what` is
 * the caller's name for messages (`attachTracepoint`). A raw fd or an Fd, a type given as a
 * number, or anything not a program (left to `programFd`) is not checked here. Throws
 * TypeError naming the program, its type, the kind and the types the kind accepts.
 */
export function expectProgramType(p: AttachProgram, kind: AttachKind, what: string): void {
  if (typeof p !== "object" || p === null || p instanceof Fd) return;
  const t = (p as { type?: unknown }).type;
  const allowed: readonly string[] = ATTACH_KIND_PROGRAM_TYPES[kind];
  if (typeof t !== "string" || allowed.includes(t)) return;
  throw new TypeError(
    `${what}: ${programLabel(p)} is a ${t} program, but attach.${kind} accepts ${allowed.map((a) => `"${a}"`).join(" or ")} programs (load it with that type, or use the attach function for ${t})`,
  );
}

/** A human name for a program in messages: `program "count"` or `program fd 7`. */
export function programLabel(p: AttachProgram): string {
  if (typeof p === "object" && p && !(p instanceof Fd) && typeof p.name === "string" && p.name) return `program ${JSON.stringify(p.name)}`;
  try {
    return `program fd ${programFd(p)}`;
  } catch {
    return "program";
  }
}

/** What `Link.info()` reports. */
export interface LinkInfo {
  /**
   * The kind of link: a kernel link type (`"xdp"`, `"tcx"`, `"perf_event"`, `"cgroup"` …) for
   * bpf_links, or the legacy mechanism (`"netlink_xdp"`, `"tc"`, `"prog_attach"`,
   * `"perf_event_ioctl"`, `"socket_filter"`, `"struct_ops_map"`, `"usdt"`).
   */
  readonly type: string;
  /** The kernel link id (bpf_links only). */
  readonly id?: number;
  /** The attached program's id. */
  readonly programId?: number;
  /** Type-specific facts (ifindex, attachType, tracepoint name, cgroupId, …). */
  readonly [key: string]: unknown;
}

/**
 * An attached program. Close it (or let `using` do it) to detach; a pinned bpf_link stays
 * attached until its pin is removed.
 */
export interface Link extends Disposable {
  /** @internal */
  readonly [LINK_SEAL]: true;
  /** The kind of link (see LinkInfo.type). */
  readonly type: string;
  /** Whether the link is a kernel bpf_link (has an id, can be pinned and updated). */
  readonly isBpfLink: boolean;
  /** The kernel link id (bpf_links), else undefined. */
  readonly id: number | undefined;
  /** The link's fd (bpf_links), else undefined. Owned by the Link. */
  readonly fd: Fd | undefined;
  /** Whether close() was called. */
  readonly closed: boolean;
  /**
   * Pin the link at `path` on bpffs: it then outlives this process until the pin is removed.
   * Throws NotSupportedError for links that are not bpf_links, BpfError from BPF_OBJ_PIN.
   */
  pin(path: string): void;
  /** Remove the pin made by pin() (or the one Link.open() opened). Does nothing when not pinned. */
  unpin(): void;
  /** The bpffs path this Link was pinned at or opened from, if any. */
  readonly pinnedPath: string | undefined;
  /**
   * Replace the attached program in place (BPF_LINK_UPDATE, no gap in coverage). With
   * `expected`, only if the current program is that one. Throws NotSupportedError when the
   * kind cannot be updated, BpfError otherwise.
   */
  update(program: AttachProgram, options?: { expected?: AttachProgram }): void;
  /**
   * Detach the program while keeping the link object (BPF_LINK_DETACH for bpf_links, min
   * kernel 5.9); for legacy kinds this is the same as close(). Pins stay but point at a
   * defunct link.
   */
  detach(): void;
  /** The kernel's view of the link. Throws ClosedError after close(). */
  info(): LinkInfo;
  /** Detach (unless pinned) and free the fd. Idempotent. */
  close(): void;
}

/**
 * Base of every Link implementation in src/link/. Subclasses override `update`, `info` or
 * `release` where their kind differs.
 */
export abstract class LinkBase implements Link {
  readonly [LINK_SEAL] = true as const;
  abstract readonly type: string;
  #closed = false;

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }
  /** Whether this is a kernel bpf_link (it has an fd). */
  get isBpfLink(): boolean {
    return this.fd !== undefined;
  }
  /** The kernel link id; undefined for attachments without a bpf_link. */
  get id(): number | undefined {
    return undefined;
  }
  /** The bpf_link fd (owned by the Link); undefined for attachments without one. */
  get fd(): Fd | undefined {
    return undefined;
  }

  /** What this link is, for messages. */
  abstract describe(): string;

  protected checkOpen(): void {
    if (this.#closed) throw new ClosedError(this.describe());
  }

  #pinned: string | undefined;

  /** The bpffs path this Link was pinned at or opened from, if any. */
  get pinnedPath(): string | undefined {
    return this.#pinned;
  }

  /** @internal Record the pin a Link was opened from. */
  setPinnedPath(path: string | undefined): void {
    this.#pinned = path;
  }

  pin(path: string): void {
    this.checkOpen();
    const fd = this.fd;
    if (!fd) {
      throw new NotSupportedError(`pinning a ${this.type} attachment`, { minKernel: "5.7", detail: "only bpf_links can be pinned; attach with a kernel that offers a link for this kind" });
    }
    objPin(fd, path, this.describe());
    this.#pinned = path;
  }

  unpin(): void {
    const p = this.#pinned;
    if (p === undefined) return;
    try {
      unlinkSync(p);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") throw new TsbpfError(`${this.describe()}: unpin ${p}: ${(e as Error).message}`, { cause: e });
    }
    this.#pinned = undefined;
  }

  update(_program: AttachProgram, _options?: { expected?: AttachProgram }): void {
    this.checkOpen();
    throw new NotSupportedError(`updating the program of a ${this.type} attachment`, { minKernel: "5.7", detail: "close it and attach the new program instead" });
  }

  detach(): void {
    this.close();
  }

  abstract info(): LinkInfo;

  /** Undo the attachment and free resources; called once by close(). */
  protected abstract release(): void;

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Names of attach types inside link info (`attachType: 46` → `"tcx_ingress"`). */
function withAttachTypeName(extra: Record<string, unknown>): Record<string, unknown> {
  const at = extra.attachType;
  if (typeof at === "number") return { ...extra, attachType: attachTypeName(at) ?? at };
  return extra;
}

/** Read a bpf_link's info by fd and shape it as LinkInfo. */
export function bpfLinkInfo(fd: Fd, what: string): LinkInfo {
  const raw = linkInfo(fd, what);
  return { type: linkTypeName(raw.type) ?? `link_type_${raw.type}`, id: raw.id, programId: raw.progId, ...withAttachTypeName(raw.extra) };
}

/** BPF_LINK_UPDATE of a bpf_link fd to `program` (only if `expected` is attached, when given). */
export function linkUpdateProgram(fd: Fd, label: string, program: AttachProgram, options?: { expected?: AttachProgram }): void {
  checkOptions(`${label}: update`, options, ["expected"]);
  const newFd = programFd(program, "update: program");
  const oldFd = options?.expected === undefined ? undefined : programFd(options.expected, "update: expected program");
  linkUpdate(fd.value, newFd, oldFd, `${label}: update to ${programLabel(program)}`);
}

/** A Link over a kernel bpf_link fd. Used by every BPF_LINK_CREATE kind. */
export class BpfLink extends LinkBase {
  readonly #fd: Fd;
  readonly #type: string;
  readonly #label: string;
  #id: number | undefined;

  /** Take ownership of `fd`. `type` is the bpf link type name when known. */
  constructor(fd: Fd, type: string | undefined, label: string) {
    super();
    this.#fd = fd;
    this.#label = label;
    this.#type = type ?? "unknown";
  }

  get type(): string {
    return this.#type;
  }
  override get fd(): Fd {
    return this.#fd;
  }
  override get id(): number | undefined {
    if (this.#id === undefined && !this.closed) {
      try {
        this.#id = linkInfo(this.#fd, this.#label).id;
      } catch {
        return undefined;
      }
    }
    return this.#id;
  }

  describe(): string {
    return this.#label;
  }

  override update(program: AttachProgram, options?: { expected?: AttachProgram }): void {
    this.checkOpen();
    linkUpdateProgram(this.#fd, this.#label, program, options);
  }

  override detach(): void {
    this.checkOpen();
    linkDetach(this.#fd.value, `${this.#label}: detach`);
  }

  info(): LinkInfo {
    this.checkOpen();
    return bpfLinkInfo(this.#fd, this.#label);
  }

  protected release(): void {
    this.#fd.close();
  }
}

/** A legacy attachment that tsbpf undoes with a callback on close. */
export class CallbackLink extends LinkBase {
  readonly type: string;
  readonly #label: string;
  readonly #undo: () => void;
  readonly #info: () => LinkInfo;
  readonly #extraFds: Fd[];

  /** `undo` detaches; `info` describes; `owned` are fds closed after undo. */
  constructor(type: string, label: string, undo: () => void, info: () => LinkInfo, owned: Fd[] = []) {
    super();
    this.type = type;
    this.#label = label;
    this.#undo = undo;
    this.#info = info;
    this.#extraFds = owned;
  }

  describe(): string {
    return this.#label;
  }

  info(): LinkInfo {
    this.checkOpen();
    return this.#info();
  }

  protected release(): void {
    try {
      this.#undo();
    } finally {
      for (const fd of this.#extraFds) fd.close();
    }
  }
}

function wrapFd(fd: Fd, label: string): BpfLink {
  const info = linkInfo(fd, label);
  return new BpfLink(fd, linkTypeName(info.type), label);
}

/**
 * Open a link pinned at `path` on bpffs (BPF_OBJ_GET). Closing the returned Link closes only
 * this fd; the link stays attached while the pin exists. Throws BpfError (ENOENT when nothing
 * is pinned there), TsbpfError when the pinned object is not a link.
 */
export function openPinnedLink(path: string): Link {
  const fd = objGet(path, 0, "link");
  try {
    const l = wrapFd(fd, `link ${path}`);
    l.setPinnedPath(path);
    return l;
  } catch (e) {
    fd.close();
    throw new TsbpfError(`link ${path}: the object pinned there is not a bpf_link`, { cause: e });
  }
}

/** Open a link by its kernel id (BPF_LINK_GET_FD_BY_ID, min kernel 5.8). Throws BpfError (ENOENT). */
export function linkFromId(id: number): Link {
  const fd = getFdById("link", id);
  try {
    return wrapFd(fd, `link id ${id}`);
  } catch (e) {
    fd.close();
    throw e;
  }
}

/** The ids of every bpf_link in the system (BPF_LINK_GET_NEXT_ID, min kernel 5.8). */
export function linkIds(): number[] {
  return listIds("link");
}

/**
 * The info of every bpf_link in the system. Links that disappear while listing are skipped.
 * Throws BpfError for anything but a vanished link.
 */
export function listLinks(): LinkInfo[] {
  const out: LinkInfo[] = [];
  for (const id of linkIds()) {
    let fd: Fd;
    try {
      fd = getFdById("link", id);
    } catch {
      continue; // gone since the id walk
    }
    try {
      out.push(bpfLinkInfo(fd, `link id ${id}`));
    } finally {
      fd.close();
    }
  }
  return out;
}

/** Static helpers on the Link name: `Link.open(path)`, `Link.fromId(id)`, `Link.list()`. */
export const Link = {
  /** See openPinnedLink. */
  open: openPinnedLink,
  /** See linkFromId. */
  fromId: linkFromId,
  /** See listLinks. */
  list: listLinks,
  /** See linkIds. */
  ids: linkIds,
  /** Whether `x` is a Link made by tsbpf. */
  is(x: unknown): x is Link {
    return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[LINK_SEAL] === true;
  },
} as const;

/** Re-exported for link kinds: link type names and attach flags. */
export type { LinkTypeName };
export { BPF_F };
