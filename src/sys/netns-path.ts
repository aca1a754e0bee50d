/**
 * The file of a network namespace given by name or path: an absolute path (`/proc/123/ns/net`,
 * `/var/run/netns/x`) is used as it is; anything else is a name under `/var/run/netns`, as
 * `ip netns` makes them, and must be one: no `/`, not `.` or `..`, no NUL. So a name read from
 * configuration or a user cannot be turned into some other path (`../../etc/x`).
 */
export function netnsPath(ns: string): string {
  if (typeof ns !== "string" || ns.length === 0) throw new TypeError(`netns must be a name under /var/run/netns or an absolute path, got ${JSON.stringify(ns)}`);
  if (ns.includes("\0")) throw new TypeError(`netns ${JSON.stringify(ns)} holds a NUL byte`);
  if (ns.startsWith("/")) return ns;
  if (ns.includes("/") || ns === "." || ns === "..") {
    throw new TypeError(`netns ${JSON.stringify(ns)} is neither a name under /var/run/netns (which has no "/" and is not "." or "..") nor an absolute path`);
  }
  return `/var/run/netns/${ns}`;
}
