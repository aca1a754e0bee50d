/**
 * `tsbpf link`: the kernel's links and what is attached to an interface.
 *
 *   tsbpf link list [--json]              every bpf_link: id, type, program, facts
 *   tsbpf link show <id> [--json]         one link
 *   tsbpf link pin <id> <path>            pin a link on bpffs
 *   tsbpf link detach <id>                BPF_LINK_DETACH (the program stops; pins stay)
 *   tsbpf link net <iface> [--netns NS] [--json]   XDP, tcx and tc programs of an interface
 */
import { Link, type LinkInfo } from "../link/link.js";
import { queryTc } from "../link/tc.js";
import { queryTcx } from "../link/tcx.js";
import { queryXdp } from "../link/xdp.js";
import type { Command } from "./command.js";

function line(i: LinkInfo): string {
  const { type, id, programId, ...rest } = i;
  const facts = Object.entries(rest)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k} ${typeof v === "bigint" ? v.toString() : String(v)}`)
    .join("  ");
  return `${id}: ${type}  prog ${programId}${facts ? `  ${facts}` : ""}`;
}

const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);

function parseId(s: string | undefined): number {
  const n = Number(s);
  if (!s || !Number.isInteger(n) || n <= 0) throw new TypeError(`expected a link id, got ${JSON.stringify(s)}`);
  return n;
}

/** The `tsbpf link` subcommand. */
export const command: Command = {
  usage: "link list|show <id>|pin <id> <path>|detach <id>|net <iface> [--netns NS] [--json]",
  summary: "list, show, pin and detach links; show what an interface has attached",
  run(args) {
    const asJson = args.includes("--json");
    const rest = args.filter((a) => a !== "--json");
    const [sub, ...more] = rest;
    switch (sub) {
      case undefined:
      case "list": {
        const all = Link.list();
        console.log(asJson ? json(all) : all.map(line).join("\n"));
        return 0;
      }
      case "show": {
        using l = Link.fromId(parseId(more[0]));
        const i = l.info();
        console.log(asJson ? json(i) : line(i));
        return 0;
      }
      case "pin": {
        if (!more[1]) throw new TypeError("usage: tsbpf link pin <id> <path>");
        using l = Link.fromId(parseId(more[0]));
        l.pin(more[1]);
        return 0;
      }
      case "detach": {
        using l = Link.fromId(parseId(more[0]));
        l.detach();
        return 0;
      }
      case "net": {
        const iface = more[0];
        if (!iface) throw new TypeError("usage: tsbpf link net <iface> [--netns NS]");
        const nsAt = more.indexOf("--netns");
        const netns = nsAt >= 0 ? more[nsAt + 1] : undefined;
        const out = {
          xdp: queryXdp(iface, netns),
          tcx: { ingress: queryTcx(iface, "ingress", netns), egress: queryTcx(iface, "egress", netns) },
          tc: { ingress: queryTc(iface, "ingress", netns), egress: queryTc(iface, "egress", netns) },
        };
        if (asJson) console.log(json(out));
        else {
          console.log(`xdp: ${out.xdp.attached}${out.xdp.programId ? ` prog ${out.xdp.programId}` : ""}`);
          for (const d of ["ingress", "egress"] as const) {
            const t = out.tcx[d];
            console.log(`tcx/${d}: ${t.programIds.map((p, i) => `prog ${p}${t.linkIds[i] ? ` link ${t.linkIds[i]}` : ""}`).join(", ") || "-"}`);
            console.log(`tc/${d}: ${out.tc[d].map((f) => `pref ${f.priority} handle 0x${f.handle.toString(16)} ${f.name ?? ""} prog ${f.programId}${f.directAction ? " da" : ""}`).join(", ") || "-"}`);
          }
        }
        return 0;
      }
      default:
        console.error(`tsbpf link: unknown subcommand ${JSON.stringify(sub)}\nusage: tsbpf ${command.usage}`);
        return 2;
    }
  },
};
