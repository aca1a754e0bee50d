/**
 * Map keys and values as bpftool's formatted JSON prints them, through the map's BTF: structs
 * and unions as objects by member name, integers as numbers (u64 as bare integers), bools as
 * true/false, bitfields as hex strings ("0x5"), char arrays holding a C string as strings, other
 * arrays as lists, enums by enumerator name, pointers as numbers, datasecs as bpftool's
 * `{ ".data": [ { "var": value } ] }`. The reverse
 * (`encodeFormatted`) accepts the same shapes, so `map update` takes what `map dump` prints.
 * Every walk is bounded: depth by MAX_DEPTH, size by the byte length of the value.
 */
import { skipQualifiers, typeSize } from "../btf/query.js";
import type { BtfSpec } from "../btf/spec.js";
import type { BtfType } from "../btf/types.js";
import { TsbpfError } from "../errors.js";

const MAX_DEPTH = 32;

function readBits(bytes: Uint8Array, bitOffset: number, bits: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i++) {
    const b = bitOffset + i;
    if ((bytes[b >> 3] >> (b & 7)) & 1) v |= 1n << BigInt(i);
  }
  return signed ? BigInt.asIntN(bits, v) : v;
}

function writeBits(bytes: Uint8Array, bitOffset: number, bits: number, value: bigint): void {
  const v = BigInt.asUintN(bits, value);
  for (let i = 0; i < bits; i++) {
    const b = bitOffset + i;
    if ((v >> BigInt(i)) & 1n) bytes[b >> 3] |= 1 << (b & 7);
    else bytes[b >> 3] &= ~(1 << (b & 7));
  }
}

const num = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

function isCString(bytes: Uint8Array): boolean {
  const end = bytes.indexOf(0);
  if (end < 0) return false;
  for (let i = 0; i < end; i++) if (bytes[i] < 0x20 || bytes[i] > 0x7e) return false;
  return true;
}

/** `char` (BTF_INT_CHAR or named so): arrays of it print as strings; `__u8` arrays stay lists. */
function isCharType(t: BtfType): boolean {
  return t.kind === "int" && t.size === 1 && (t.char || t.name === "char");
}

/** The formatted value of type `id` in `bytes` (starting at `bitOffset`). */
export function formatBtfValue(btf: BtfSpec, id: number, bytes: Uint8Array, bitOffset = 0, bitfield = 0, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new TsbpfError(`BTF: type [${id}] nests more than ${MAX_DEPTH} levels`);
  const t = skipQualifiers(btf, id);
  const d = depth + 1;
  switch (t.kind) {
    case "int": {
      const bits = bitfield || t.bits;
      const v = readBits(bytes, bitOffset + t.bitOffset, bits, t.signed);
      if (bitfield) return `0x${BigInt.asUintN(bits, v).toString(16)}`; // bpftool prints bitfields in hex
      if (t.bool) return v !== 0n;
      return num(v);
    }
    case "enum":
    case "enum64": {
      const v = readBits(bytes, bitOffset, bitfield || t.size * 8, t.signed);
      const e = (t.values as { name: string; value: number | bigint }[]).find((x) => BigInt(x.value) === v);
      return e ? e.name : num(v);
    }
    case "ptr":
      return num(readBits(bytes, bitOffset, 64, false));
    case "float": {
      const view = new DataView(bytes.buffer, bytes.byteOffset + (bitOffset >> 3), t.size);
      return t.size === 4 ? view.getFloat32(0, true) : t.size === 8 ? view.getFloat64(0, true) : Buffer.from(bytes.subarray(bitOffset >> 3, (bitOffset >> 3) + t.size)).toString("hex");
    }
    case "array": {
      const elem = skipQualifiers(btf, t.type);
      const size = typeSize(btf, t.type);
      const start = bitOffset >> 3;
      if (isCharType(elem)) {
        const slice = bytes.subarray(start, start + t.nelems);
        if (isCString(slice)) return Buffer.from(slice.subarray(0, slice.indexOf(0))).toString("latin1");
      }
      const out: unknown[] = [];
      for (let i = 0; i < t.nelems; i++) out.push(formatBtfValue(btf, t.type, bytes, bitOffset + i * size * 8, 0, d));
      return out;
    }
    case "struct":
    case "union": {
      const out: Record<string, unknown> = {};
      for (const m of t.members) {
        const v = formatBtfValue(btf, m.type, bytes, bitOffset + m.bitOffset, m.bitfieldSize, d);
        if (m.name) out[m.name] = v;
        else if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(out, v);
      }
      return out;
    }
    case "datasec": {
      // bpftool's shape: { ".rodata": [ { "var": value }, … ] }
      const vars: Record<string, unknown>[] = [];
      for (const s of t.vars) {
        const v = btf.typeById(s.type);
        if (v.kind !== "var") continue;
        vars.push({ [v.name]: formatBtfValue(btf, v.type, bytes, bitOffset + s.offset * 8, 0, d) });
      }
      return { [t.name]: vars };
    }
    case "var":
      return formatBtfValue(btf, t.type, bytes, bitOffset, 0, d);
    default:
      return Buffer.from(bytes).toString("hex");
  }
}

function bad(what: string, v: unknown, want: string): never {
  throw new TsbpfError(`${what}: ${JSON.stringify(v)} is not ${want}`);
}

function toBig(v: unknown, what: string): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?(0x[0-9a-f]+|\d+)$/i.test(v.trim())) return BigInt(v.trim());
  if (typeof v === "boolean") return v ? 1n : 0n;
  return bad(what, v, "an integer");
}

/** Write a formatted value of type `id` into `bytes` (zeroed by the caller) at `bitOffset`. */
export function encodeBtfValue(btf: BtfSpec, id: number, value: unknown, bytes: Uint8Array, bitOffset = 0, bitfield = 0, what = "value", depth = 0): void {
  if (depth > MAX_DEPTH) throw new TsbpfError(`BTF: type [${id}] nests more than ${MAX_DEPTH} levels`);
  const t = skipQualifiers(btf, id);
  const d = depth + 1;
  switch (t.kind) {
    case "int":
      writeBits(bytes, bitOffset + t.bitOffset, bitfield || t.bits, toBig(value, what));
      return;
    case "enum":
    case "enum64": {
      const e = typeof value === "string" ? (t.values as { name: string; value: number | bigint }[]).find((x) => x.name === value) : undefined;
      writeBits(bytes, bitOffset, bitfield || t.size * 8, e ? BigInt(e.value) : toBig(value, what));
      return;
    }
    case "ptr":
      writeBits(bytes, bitOffset, 64, toBig(value, what));
      return;
    case "float": {
      if (typeof value !== "number") bad(what, value, "a number");
      const view = new DataView(bytes.buffer, bytes.byteOffset + (bitOffset >> 3), t.size);
      if (t.size === 4) view.setFloat32(0, value, true);
      else if (t.size === 8) view.setFloat64(0, value, true);
      else bad(what, value, `writable (float of ${t.size} bytes)`);
      return;
    }
    case "array": {
      const size = typeSize(btf, t.type);
      const start = bitOffset >> 3;
      if (typeof value === "string" && isCharType(skipQualifiers(btf, t.type))) {
        const s = Buffer.from(value, "latin1");
        if (s.length >= t.nelems) bad(what, value, `a string of at most ${t.nelems - 1} bytes`);
        bytes.set(s, start);
        return;
      }
      if (!Array.isArray(value) || value.length !== t.nelems) bad(what, value, `a list of ${t.nelems} elements`);
      value.forEach((v, i) => encodeBtfValue(btf, t.type, v, bytes, bitOffset + i * size * 8, 0, `${what}[${i}]`, d));
      return;
    }
    case "struct":
    case "union": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) bad(what, value, `an object (${t.kind} ${t.name || "(anon)"})`);
      const obj = value as Record<string, unknown>;
      const known = new Set<string>();
      const walk = (members: typeof t.members, base: number, dd: number) => {
        for (const m of members) {
          if (m.name) {
            known.add(m.name);
            if (m.name in obj) encodeBtfValue(btf, m.type, obj[m.name], bytes, base + m.bitOffset, m.bitfieldSize, `${what}.${m.name}`, dd);
          } else {
            const inner = skipQualifiers(btf, m.type);
            if ((inner.kind === "struct" || inner.kind === "union") && dd < MAX_DEPTH) walk(inner.members, base + m.bitOffset, dd + 1);
          }
        }
      };
      walk(t.members, bitOffset, d);
      for (const k of Object.keys(obj)) if (!known.has(k)) throw new TsbpfError(`${what}: ${t.kind} ${t.name || "(anon)"} has no member "${k}"`);
      return;
    }
    case "datasec": {
      // What formatBtfValue prints ({ ".data": [ { "x": 1 }, … ] }), or a plain { "x": 1, … }.
      if (typeof value !== "object" || value === null) bad(what, value, "an object of variables");
      let vars = value as Record<string, unknown>;
      const listed = vars[t.name];
      if (Array.isArray(listed)) vars = Object.assign({}, ...listed.filter((x) => typeof x === "object" && x !== null));
      for (const s of t.vars) {
        const v = btf.typeById(s.type);
        if (v.kind === "var" && v.name in vars) encodeBtfValue(btf, v.type, vars[v.name], bytes, bitOffset + s.offset * 8, 0, `${what}.${v.name}`, d);
      }
      return;
    }
    case "var":
      encodeBtfValue(btf, t.type, value, bytes, bitOffset, 0, what, d);
      return;
    default:
      throw new TsbpfError(`${what}: cannot write a ${t.kind} from JSON; use --hex`);
  }
}
