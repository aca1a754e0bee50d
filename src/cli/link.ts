/**
 * `tsbpf link`: the kernel's bpf_links (`list`, `show`, `pin`, `detach`), like `bpftool link`.
 */
import { Link, type LinkInfo } from "../link/link.js";
import { arg, noMoreArgs, UsageError, type Command, type Context } from "./command.js";
import { bpftoolFields } from "./json-names.js";

function line(i: LinkInfo): string {
  const { type, id, programId, ...rest } = i;
  const facts = Object.entries(rest)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k} ${typeof v === "bigint" ? v.toString() : String(v)}`)
    .join("  ");
  return `${id}: ${type}  prog ${programId}${facts ? `  ${facts}` : ""}`;
}

/** Open a link by id or pinned path. The caller closes it. */
function openLink(ctx: Context): Link {
  const target = arg(ctx, 0, "<id|pinned path>");
  if (/^\d+$/.test(target)) return Link.fromId(Number(target));
  if (target.startsWith("/")) return Link.open(target);
  throw new UsageError(`"${target}" is neither a link id nor a pinned path`);
}

function print(ctx: Context, infos: LinkInfo[], one: boolean): void {
  if (ctx.json) ctx.printJson(one ? bpftoolFields(infos[0]) : infos.map((i) => bpftoolFields(i)));
  else for (const i of infos) ctx.out(line(i));
}

const list: Command = {
  summary: "list every bpf_link: id, type, program and type-specific facts",
  run(ctx) {
    noMoreArgs(ctx, 0);
    print(ctx, Link.list(), false);
  },
};

const show: Command = {
  summary: "show one link by id or pinned path (all links without an argument)",
  args: "[<id|pinned path>]",
  run(ctx) {
    if (ctx.args.length === 0) return list.run!(ctx);
    noMoreArgs(ctx, 1);
    using l = openLink(ctx);
    print(ctx, [l.info()], true);
  },
};

const pin: Command = {
  summary: "pin a link on bpffs, so it outlives its owner",
  args: "<id|pinned path> <path>",
  run(ctx) {
    const path = arg(ctx, 1, "<path>");
    noMoreArgs(ctx, 2);
    using l = openLink(ctx);
    l.pin(path);
  },
};

const detach: Command = {
  summary: "detach a link (BPF_LINK_DETACH): the program stops; pins and fds stay valid",
  args: "<id|pinned path>",
  run(ctx) {
    noMoreArgs(ctx, 1);
    using l = openLink(ctx);
    l.detach();
  },
};

/** The `tsbpf link` command. */
export const command: Command = {
  summary: "list, show, pin and detach links",
  subcommands: { list, show, pin, detach },
};
