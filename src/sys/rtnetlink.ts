/**
 * rtnetlink messages about network interfaces: `struct ifinfomsg`/`struct tcmsg`, the `IFLA_*`
 * attributes tsbpf uses, and interface lookup (RTM_GETLINK) by name or index. Named
 * "interface", not "link", so they never read like the bpf links of src/link.
 */
import { TsbpfError } from "../errors.js";
import { attrMap, attrString, NetlinkBuilder, NetlinkError, NetlinkSocket, RTM } from "./netlink.js";

/** `struct ifinfomsg` (16 bytes). */
export function ifinfomsg(fields: { family?: number; type?: number; index?: number; flags?: number; change?: number } = {}): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, fields.family ?? 0);
  v.setUint16(2, fields.type ?? 0, true);
  v.setInt32(4, fields.index ?? 0, true);
  v.setUint32(8, fields.flags ?? 0, true);
  v.setUint32(12, fields.change ?? 0, true);
  return b;
}

/** `struct tcmsg` (20 bytes). */
export function tcmsg(fields: { family?: number; ifindex: number; handle?: number; parent?: number; info?: number }): Uint8Array {
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setUint8(0, fields.family ?? 0);
  v.setInt32(4, fields.ifindex, true);
  v.setUint32(8, (fields.handle ?? 0) >>> 0, true);
  v.setUint32(12, (fields.parent ?? 0) >>> 0, true);
  v.setUint32(16, (fields.info ?? 0) >>> 0, true);
  return b;
}

/** Link attributes (`IFLA_*`) tsbpf uses. */
export const IFLA = {
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  LINKINFO: 18,
  NET_NS_PID: 19,
  NET_NS_FD: 28,
  XDP: 43,
} as const;
/** `IFLA_INFO_*` inside IFLA_LINKINFO. */
export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
/** `IFF_UP`. */
export const IFF_UP = 1;

/** One network interface as RTM_GETLINK reports it. */
export interface InterfaceInfo {
  readonly index: number;
  readonly name: string;
  readonly flags: number;
  /** Attributes by `IFLA_*` type. */
  readonly attrs: Map<number, Uint8Array>;
}

/** Parse an RTM_NEWLINK message body. */
export function parseInterfaceMessage(body: Uint8Array): InterfaceInfo {
  if (body.length < 16) throw new TsbpfError("netlink: RTM_NEWLINK message shorter than struct ifinfomsg");
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const attrs = attrMap(body.subarray(16));
  return { index: v.getInt32(4, true), flags: v.getUint32(8, true), name: attrString(attrs.get(IFLA.IFNAME)) ?? "", attrs };
}

/** Every network interface of the socket's network namespace (RTM_GETLINK dump). */
export function listInterfaces(sock: NetlinkSocket): InterfaceInfo[] {
  return sock
    .dump(RTM.GETLINK, ifinfomsg(), { context: "netlink: list interfaces" })
    .filter((m) => m.type === RTM.NEWLINK)
    .map((m) => parseInterfaceMessage(m.body));
}

/** One network interface by name or index (RTM_GETLINK). Throws NetlinkError (ENODEV) when there is none. */
export function getInterface(sock: NetlinkSocket, nameOrIndex: string | number): InterfaceInfo {
  const body =
    typeof nameOrIndex === "number"
      ? new NetlinkBuilder(ifinfomsg({ index: nameOrIndex })).finish()
      : new NetlinkBuilder(ifinfomsg()).string(IFLA.IFNAME, nameOrIndex).finish();
  const replies = sock.request(RTM.GETLINK, 0, body, { context: `interface ${JSON.stringify(nameOrIndex)}: look up` });
  const m = replies.find((r) => r.type === RTM.NEWLINK);
  if (!m) throw new NetlinkError("RTM_GETLINK", 19, { context: `interface ${JSON.stringify(nameOrIndex)}: look up`, hint: "no such interface" });
  return parseInterfaceMessage(m.body);
}

/**
 * The index of a network interface by name, in the network namespace of the calling thread
 * (`if_nametoindex`). Throws NetlinkError (ENODEV) when there is no such interface.
 */
export function interfaceIndex(name: string): number {
  using sock = NetlinkSocket.open();
  return getInterface(sock, name).index;
}
