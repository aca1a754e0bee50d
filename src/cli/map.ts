/**
 * `tsbpf map`: the kernel's maps, like `bpftool map` — list, show, dump, lookup, update,
 * delete, getnext, push, pop, peek, freeze, pin, event_pipe. Keys and values are printed and
 * parsed through the map's BTF (bpftool's formatted JSON); `--hex` works on raw bytes.
 */
import { type BtfSpec } from "../btf/spec.js";
import { TsbpfError } from "../errors.js";
import { BpfMap, type MapInfo } from "../map/bpf-map.js";
import { PER_CPU_MAP_TYPES } from "../spec/map-type.js";
import { PerfReader } from "../perf/reader.js";
import { RingBufReader } from "../ringbuf/reader.js";
import { arg, flag, noMoreArgs, str, toJson, UsageError, type Command, type Context } from "./command.js";
import { encodeBtfValue, formatBtfValue } from "./btf-values.js";
import { mapJson } from "./json-names.js";
import { btfById, parseHex } from "./prog.js";

type RawMap = BpfMap<Uint8Array, Uint8Array | Uint8Array[]>;

/** Spaced hex like bpftool's plain output ("01 00 00 00"). */
function spaced(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** bpftool's JSON for raw bytes: ["0x01", "0x00", …]. */
function hexList(b: Uint8Array): string[] {
  return Array.from(b, (x) => `0x${x.toString(16).padStart(2, "0")}`);
}

function infoLine(i: MapInfo): string {
  const name = i.name ? `  name ${i.name}` : "";
  const flags = i.flags ? `  flags 0x${i.flags.toString(16)}` : "";
  const btf = i.btfId ? `  btf_id ${i.btfId}` : "";
  const frozen = i.frozen ? "  frozen" : "";
  return `${i.id}: ${i.typeName ?? i.type}${name}  key ${i.keySize}B  value ${i.valueSize}B  max_entries ${i.maxEntries}${flags}${btf}${frozen}`;
}

/** An open map with what is needed to format its entries. */
interface Opened {
  map: RawMap;
  info: MapInfo;
  /** BTF and type ids for formatted keys/values (absent with --hex or without BTF). */
  btf?: { spec: BtfSpec; key: number; value: number };
  perCpu: boolean;
  used: number;
}

/** Open the map a MAP argument names: `<id>`, `id <id>`, `pinned <path>`, `name <name>` or a path. */
function openMap(ctx: Context): Opened {
  const a = arg(ctx, 0, "<map> (an id, id N, name NAME, pinned PATH or a bpffs path)");
  let map: RawMap;
  let used = 1;
  if (/^\d+$/.test(a)) map = BpfMap.fromId(Number(a));
  else if (a.startsWith("/")) map = BpfMap.open(a);
  else {
    const v = arg(ctx, 1, `the ${a} of the map`);
    used = 2;
    if (a === "id") {
      if (!/^\d+$/.test(v)) throw new UsageError(`"${v}" is not a map id`);
      map = BpfMap.fromId(Number(v));
    } else if (a === "pinned") map = BpfMap.open(v);
    else if (a === "name") {
      const hits = BpfMap.list().filter((i) => i.name === v);
      if (hits.length === 0) throw new TsbpfError(`no map is named "${v}"`);
      if (hits.length > 1) throw new TsbpfError(`${hits.length} maps are named "${v}" (ids ${hits.map((h) => h.id).join(", ")}): name one by id`);
      map = BpfMap.fromId(hits[0].id);
    } else throw new UsageError(`"${a}" is not a map: give an id, id N, name NAME, pinned PATH or a bpffs path`);
  }
  const info = map.info();
  const perCpu = info.typeName !== undefined && (PER_CPU_MAP_TYPES as ReadonlySet<string>).has(info.typeName);
  let btf: Opened["btf"];
  if (!flag(ctx, "hex") && info.btfId && (info.btfKeyTypeId || info.btfValueTypeId)) {
    const spec = btfById(info.btfId);
    if (spec) btf = { spec, key: info.btfKeyTypeId, value: info.btfValueTypeId };
  }
  return { map, info, btf, perCpu, used };
}

/** Parse a key or value argument: JSON through BTF, else hex bytes. */
function parseArg(o: Opened, text: string, which: "key" | "value", size: number): Uint8Array {
  const id = which === "key" ? o.btf?.key : o.btf?.value;
  if (o.btf && id) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      v = text; // a bare enumerator name or string
    }
    const bytes = new Uint8Array(size);
    encodeBtfValue(o.btf.spec, id, v, bytes, 0, 0, which);
    return bytes;
  }
  const bytes = parseHex(text, which);
  if (bytes.length !== size) throw new UsageError(`${which} is ${bytes.length} bytes; map ${o.info.id} takes ${size}`);
  return bytes;
}

function fmt(o: Opened, which: "key" | "value", bytes: Uint8Array): unknown {
  const id = which === "key" ? o.btf?.key : o.btf?.value;
  return o.btf && id ? formatBtfValue(o.btf.spec, id, bytes) : undefined;
}

/** One entry as bpftool -j prints it: raw hex lists, and `formatted` when the map has BTF. */
function entryJson(o: Opened, key: Uint8Array | undefined, value: Uint8Array | Uint8Array[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  row.key = key ? hexList(key) : []; // bpftool prints "key": [] for queues and stacks
  const formatted: Record<string, unknown> = {};
  if (key && o.btf?.key) formatted.key = fmt(o, "key", key);
  if (Array.isArray(value)) {
    row.values = value.map((v, cpu) => ({ cpu, value: hexList(v) }));
    if (o.btf?.value) formatted.values = value.map((v, cpu) => ({ cpu, value: fmt(o, "value", v) }));
  } else {
    row.value = hexList(value);
    if (o.btf?.value) formatted.value = fmt(o, "value", value);
  }
  if (Object.keys(formatted).length) row.formatted = formatted;
  return row;
}

function entryText(o: Opened, key: Uint8Array | undefined, value: Uint8Array | Uint8Array[]): string[] {
  const show = (which: "key" | "value", b: Uint8Array) => {
    const f = fmt(o, which, b);
    return f === undefined ? spaced(b) : toJson(f);
  };
  const k = key ? `key: ${show("key", key)}  ` : "";
  if (Array.isArray(value)) return [`${k.trimEnd()}`, ...value.map((v, cpu) => `  cpu ${cpu}: ${show("value", v)}`)].filter(Boolean);
  return [`${k}value: ${show("value", value)}`];
}

function printEntries(ctx: Context, o: Opened, rows: [Uint8Array | undefined, Uint8Array | Uint8Array[]][], single = false): void {
  if (ctx.json) {
    const json = rows.map(([k, v]) => entryJson(o, k, v));
    ctx.printJson(single ? json[0] : json);
    return;
  }
  const out: string[] = [];
  for (const [k, v] of rows) out.push(...entryText(o, k, v));
  if (!single) out.push(`Found ${rows.length} element${rows.length === 1 ? "" : "s"}`);
  ctx.write(`${out.join("\n")}\n`);
}

/** Run `fn` with the map opened from the arguments, then close it. */
function withMap<T>(ctx: Context, fn: (o: Opened) => T): T {
  const o = openMap(ctx);
  try {
    return fn(o);
  } finally {
    o.map.close();
  }
}

const MAP_ARG = "<map>";
const HEX = { hex: { type: "boolean" as const, description: "raw bytes in hex instead of values formatted through the map's BTF" } };

const list: Command = {
  summary: "list every map: id, type, name, sizes, flags",
  run(ctx) {
    noMoreArgs(ctx, 0);
    const maps = BpfMap.list();
    if (ctx.json) ctx.printJson(maps.map((i) => mapJson(i)));
    else for (const i of maps) ctx.out(infoLine(i));
  },
};

const show: Command = {
  summary: "show one map by id, name or pin (all maps without an argument)",
  args: `[${MAP_ARG}]`,
  run(ctx) {
    if (ctx.args.length === 0) return list.run!(ctx);
    withMap(ctx, (o) => {
      noMoreArgs(ctx, o.used);
      if (ctx.json) ctx.printJson(mapJson(o.info));
      else ctx.out(infoLine(o.info));
    });
  },
};

const dump: Command = {
  summary: "print every entry, formatted through the map's BTF (per CPU for per-CPU maps)",
  args: MAP_ARG,
  options: HEX,
  examples: ["tsbpf map dump id 42 --pretty", "tsbpf map dump /sys/fs/bpf/myapp/counts --hex"],
  run(ctx) {
    withMap(ctx, (o) => {
      noMoreArgs(ctx, o.used);
      const rows: [Uint8Array, Uint8Array | Uint8Array[]][] = [];
      for (const [k, v] of o.map.entries()) rows.push([k, v]);
      printEntries(ctx, o, rows);
    });
  },
};

const lookup: Command = {
  summary: "print the value of one key",
  args: `${MAP_ARG} <key>`,
  description: "A key is JSON formatted as `map dump` prints it (a number, an object, a string) when the map has BTF,\nelse hex bytes (\"01000000\" or \"01 00 00 00\"); --hex always takes hex.",
  options: HEX,
  run(ctx) {
    withMap(ctx, (o) => {
      const key = parseArg(o, arg(ctx, o.used, "<key>"), "key", o.info.keySize);
      noMoreArgs(ctx, o.used + 1);
      const v = o.map.get(key);
      if (v === undefined) throw new TsbpfError(`map ${o.info.id}: lookup: no entry for this key (ENOENT)`);
      printEntries(ctx, o, [[key, v]], true);
    });
  },
};

const update: Command = {
  summary: "set the value of a key",
  args: `${MAP_ARG} <key> <value>`,
  description: "Key and value are JSON formatted as `map dump` prints them when the map has BTF, else hex bytes.\nFor a per-CPU map the value goes to every CPU.",
  options: {
    ...HEX,
    mode: { type: "string", value: "any|noexist|exist", description: "BPF_ANY (default), BPF_NOEXIST or BPF_EXIST" },
  },
  examples: [`tsbpf map update id 42 '{"pid": 1}' '{"count": 0}'`, "tsbpf map update id 43 01000000 0a000000 --hex"],
  run(ctx) {
    const mode = str(ctx, "mode") ?? "any";
    if (mode !== "any" && mode !== "noexist" && mode !== "exist") throw new UsageError(`--mode is any, noexist or exist, not "${mode}"`);
    withMap(ctx, (o) => {
      const key = parseArg(o, arg(ctx, o.used, "<key>"), "key", o.info.keySize);
      const value = parseArg(o, arg(ctx, o.used + 1, "<value>"), "value", o.info.valueSize);
      noMoreArgs(ctx, o.used + 2);
      o.map.set(key, o.perCpu ? Array.from({ length: o.map.cpus }, () => value) : value, mode);
    });
  },
};

const del: Command = {
  summary: "delete a key",
  args: `${MAP_ARG} <key>`,
  options: HEX,
  run(ctx) {
    withMap(ctx, (o) => {
      const key = parseArg(o, arg(ctx, o.used, "<key>"), "key", o.info.keySize);
      noMoreArgs(ctx, o.used + 1);
      if (!o.map.delete(key)) throw new TsbpfError(`map ${o.info.id}: delete: no entry for this key (ENOENT)`);
    });
  },
};

const getnext: Command = {
  summary: "print the key after a key (the first key without one)",
  args: `${MAP_ARG} [<key>]`,
  options: HEX,
  run(ctx) {
    withMap(ctx, (o) => {
      const text = ctx.args[o.used];
      noMoreArgs(ctx, o.used + 1);
      const key = text === undefined ? undefined : parseArg(o, text, "key", o.info.keySize);
      const next = o.map.nextKey(key);
      if (next === undefined) throw new TsbpfError(`map ${o.info.id}: getnext: no next key (ENOENT)`);
      if (ctx.json) {
        ctx.printJson({ ...(key ? { key: hexList(key) } : {}), next_key: hexList(next), ...(o.btf?.key ? { formatted: { ...(key ? { key: fmt(o, "key", key) } : {}), next_key: fmt(o, "key", next) } } : {}) });
      } else {
        if (key) ctx.out(`key: ${spaced(key)}`);
        ctx.out(`next key: ${o.btf?.key ? toJson(fmt(o, "key", next)) : spaced(next)}`);
      }
    });
  },
};

const push: Command = {
  summary: "push a value onto a queue, stack or bloom filter",
  args: `${MAP_ARG} <value>`,
  options: HEX,
  run(ctx) {
    withMap(ctx, (o) => {
      const value = parseArg(o, arg(ctx, o.used, "<value>"), "value", o.info.valueSize);
      noMoreArgs(ctx, o.used + 1);
      o.map.push(value);
    });
  },
};

function takeOne(name: "pop" | "peek"): Command {
  return {
    summary: name === "pop" ? "remove and print the next value of a queue or stack" : "print the next value of a queue or stack without removing it",
    args: MAP_ARG,
    options: HEX,
    run(ctx) {
      withMap(ctx, (o) => {
        noMoreArgs(ctx, o.used);
        const v = name === "pop" ? o.map.pop() : o.map.peek();
        if (v === undefined) throw new TsbpfError(`map ${o.info.id}: ${name}: empty (ENOENT)`);
        printEntries(ctx, o, [[undefined, v]], true);
      });
    },
  };
}

const freeze: Command = {
  summary: "make a map read-only for user space (BPF_MAP_FREEZE), for good",
  args: MAP_ARG,
  run(ctx) {
    withMap(ctx, (o) => {
      noMoreArgs(ctx, o.used);
      o.map.freeze();
    });
  },
};

const pin: Command = {
  summary: "pin a map on bpffs",
  args: `${MAP_ARG} <path>`,
  run(ctx) {
    withMap(ctx, (o) => {
      const path = arg(ctx, o.used, "<path>");
      noMoreArgs(ctx, o.used + 1);
      o.map.pin(path);
    });
  },
};

const eventPipe: Command = {
  summary: "print the records of a ring buffer or perf event array as they arrive, until Ctrl-C",
  args: MAP_ARG,
  options: {
    count: { type: "string", value: "N", description: "stop after N records" },
    duration: { type: "string", value: "SECONDS", description: "stop after this long" },
  },
  examples: ["tsbpf map event_pipe name events --json --count 10"],
  async run(ctx) {
    const count = str(ctx, "count") === undefined ? Infinity : Number(str(ctx, "count"));
    if (!(count > 0)) throw new UsageError(`--count takes a number, not "${str(ctx, "count")}"`);
    const secs = str(ctx, "duration") === undefined ? undefined : Number(str(ctx, "duration"));
    if (secs !== undefined && !(secs > 0)) throw new UsageError(`--duration takes seconds, not "${str(ctx, "duration")}"`);
    const o = openMap(ctx);
    try {
      noMoreArgs(ctx, o.used);
      const deadline = secs === undefined ? Infinity : Date.now() + secs * 1000;
      let index = 0;
      const emit = (cpu: number | undefined, data: Uint8Array, lost?: number) => {
        if (ctx.json) ctx.printJson(lost !== undefined ? { type: "lost", cpu, lost } : { type: "sample", ...(cpu !== undefined ? { cpu } : {}), index, data: hexList(data) });
        else if (lost !== undefined) ctx.out(`== CPU ${cpu}: lost ${lost} samples`);
        else ctx.out(`== ${cpu !== undefined ? `CPU ${cpu} ` : ""}index ${index} (${data.length} bytes)\n${spaced(data)}`);
        if (lost === undefined) index++;
      };
      const slice = () => Math.max(0, Math.min(200, deadline - Date.now()));
      if (o.info.typeName === "ringbuf") {
        using r = new RingBufReader(o.map as never);
        while (index < count && !ctx.signal.aborted && Date.now() < deadline) {
          const rec = await r.read({ timeoutMs: slice() });
          if (rec) emit(undefined, rec);
        }
      } else if (o.info.typeName === "perf_event_array") {
        using r = new PerfReader(o.map as never);
        while (index < count && !ctx.signal.aborted && Date.now() < deadline) {
          const ev = await r.read({ timeoutMs: slice() });
          if (!ev) continue;
          if (ev.type === "lost") emit(ev.cpu, new Uint8Array(0), ev.lost);
          else emit(ev.cpu, ev.data);
        }
      } else throw new TsbpfError(`map ${o.info.id} is a ${o.info.typeName ?? o.info.type}: event_pipe reads ringbuf and perf_event_array maps`);
    } finally {
      o.map.close();
    }
  },
};

/** The `tsbpf map` command. */
export const command: Command = {
  summary: "list, dump, look up and change maps, read ring buffers",
  subcommands: { list, show, dump, lookup, update, delete: del, getnext, push, pop: takeOne("pop"), peek: takeOne("peek"), freeze, pin, event_pipe: eventPipe },
};

