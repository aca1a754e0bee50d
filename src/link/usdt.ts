/**
 * USDT probes (`DTRACE_PROBE` / `STAP_PROBE` from `<sys/sdt.h>`): read the `.note.stapsdt`
 * notes of a binary, attach a uprobe at every site of `provider:name` (with the semaphore as
 * the uprobe's ref_ctr), and hand the program its argument specs the way libbpf's
 * `usdt.bpf.h` reads them: a spec per site in the `__bpf_usdt_specs` array map, found through
 * the BPF cookie. Kernels without BPF cookies (before 5.15), where usdt.bpf.h falls back to
 * `__bpf_usdt_ip_to_spec_id`, are not supported yet: attaching there fails with
 * NotSupportedError.
 */
import { BpfError, NotSupportedError, ParseError, TsbpfError } from "../errors.js";
import { BpfCmd } from "../sys/bpf.js";
import { NativeMemory } from "../sys/libc.js";
import { failMapCall, MapElemAttr } from "../sys/map-attr.js";
import { SHT, type ElfFile } from "../elf/elf-file.js";
import { loadBinary, resolveBinaryPath, vaddrToFileOffset } from "./elf-symbols.js";
import { checkOptions } from "../errors.js";
import { LinkBase, expectProgramType, programLabel, type AttachProgram, type Link, type LinkInfo } from "./link.js";
import { attachUprobe } from "./uprobe.js";

/** One USDT site as the `.note.stapsdt` note describes it (addresses already adjusted for prelinking). */
export interface UsdtNote {
  provider: string;
  name: string;
  /** Virtual address of the probe instruction. */
  pc: bigint;
  /** Virtual address of the semaphore, 0n when the probe has none. */
  semaphore: bigint;
  /** The argument string, e.g. `"-4@%edx 8@-16(%rbp) 4@$5"`. */
  args: string;
}

const NT_STAPSDT = 3;

/**
 * Parse every `.note.stapsdt` note of a 64-bit ELF file. Pure. Throws ParseError for a note
 * that runs past its section.
 */
export function parseUsdtNotes(elf: ElfFile): UsdtNote[] {
  const sec = elf.sections.find((s) => s.name === ".note.stapsdt" && s.type === SHT.NOTE);
  if (!sec) return [];
  if (elf.class !== 64) throw new ParseError(".note.stapsdt: only 64-bit binaries are supported");
  const base = elf.sections.find((s) => s.name === ".stapsdt.base");
  const le = elf.byteOrder === "little";
  const d = sec.data;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const dec = new TextDecoder();
  const out: UsdtNote[] = [];
  let off = 0;
  const align = (n: number) => (n + 3) & ~3;
  while (off + 12 <= d.length) {
    const namesz = v.getUint32(off, le);
    const descsz = v.getUint32(off + 4, le);
    const type = v.getUint32(off + 8, le);
    const nameAt = off + 12;
    const descAt = nameAt + align(namesz);
    const end = descAt + align(descsz);
    if (descAt + descsz > d.length || namesz > d.length || descsz > d.length) {
      throw new ParseError(`.note.stapsdt: note at ${off} runs past the section`, { offset: sec.offset + off });
    }
    const owner = dec.decode(d.subarray(nameAt, nameAt + Math.max(0, namesz - 1)));
    if (type === NT_STAPSDT && owner === "stapsdt" && descsz >= 24) {
      let pc = v.getBigUint64(descAt, le);
      const noteBase = v.getBigUint64(descAt + 8, le);
      let sem = v.getBigUint64(descAt + 16, le);
      // Prelinked binaries moved: shift by how far .stapsdt.base moved from what the note recorded.
      if (base && noteBase !== 0n) {
        const delta = BigInt(base.addr) - noteBase;
        pc += delta;
        if (sem !== 0n) sem += delta;
      }
      const strs: string[] = [];
      let p = descAt + 24;
      const stop = descAt + descsz;
      for (let i = 0; i < 3 && p <= stop; i++) {
        let q = p;
        while (q < stop && d[q] !== 0) q++;
        strs.push(dec.decode(d.subarray(p, q)));
        p = q + 1;
      }
      if (strs.length < 2) throw new ParseError(`.note.stapsdt: note at ${off} lacks provider/name strings`, { offset: sec.offset + off });
      out.push({ provider: strs[0]!, name: strs[1]!, pc, semaphore: sem, args: strs[2] ?? "" });
    }
    off = end;
  }
  return out;
}

/** `enum __bpf_usdt_arg_type` of usdt.bpf.h. */
export const USDT_ARG = { const: 0, reg: 1, reg_deref: 2 } as const;

/** One argument spec, as `struct __bpf_usdt_arg_spec`. */
export interface UsdtArgSpec {
  type: keyof typeof USDT_ARG;
  /** Constant value (const) or memory offset (reg_deref). */
  valOff: bigint;
  /** Offset of the register in `struct pt_regs` (-1 for constants). */
  regOff: number;
  signed: boolean;
  /** 64 - size*8: bits to shift away (and sign-extend) to get the value. */
  bitshift: number;
}

/** x86_64 `struct pt_regs` offsets by every register name an sdt.h argument can use. */
const X86_REGS: Record<string, number> = {};
{
  const base: Array<[number, string[]]> = [
    [0, ["r15", "r15d", "r15w", "r15b"]],
    [8, ["r14", "r14d", "r14w", "r14b"]],
    [16, ["r13", "r13d", "r13w", "r13b"]],
    [24, ["r12", "r12d", "r12w", "r12b"]],
    [32, ["rbp", "ebp", "bp", "bpl"]],
    [40, ["rbx", "ebx", "bx", "bl", "bh"]],
    [48, ["r11", "r11d", "r11w", "r11b"]],
    [56, ["r10", "r10d", "r10w", "r10b"]],
    [64, ["r9", "r9d", "r9w", "r9b"]],
    [72, ["r8", "r8d", "r8w", "r8b"]],
    [80, ["rax", "eax", "ax", "al", "ah"]],
    [88, ["rcx", "ecx", "cx", "cl", "ch"]],
    [96, ["rdx", "edx", "dx", "dl", "dh"]],
    [104, ["rsi", "esi", "si", "sil"]],
    [112, ["rdi", "edi", "di", "dil"]],
    [128, ["rip", "eip"]],
    [152, ["rsp", "esp", "sp", "spl"]],
  ];
  for (const [off, names] of base) for (const n of names) X86_REGS[n] = off;
}

function regOffset(name: string, arg: string): number {
  const off = X86_REGS[name];
  if (off === undefined) throw new ParseError(`USDT argument ${JSON.stringify(arg)}: unknown x86_64 register %${name}`);
  return off;
}

/**
 * Parse an x86_64 sdt.h argument string into specs. Pure. Throws ParseError for forms
 * usdt.bpf.h cannot express (scaled-index addressing) or more than 12 arguments.
 */
export function parseUsdtArgs(args: string): UsdtArgSpec[] {
  const parts = args.trim() === "" ? [] : args.trim().split(/\s+/);
  if (parts.length > 12) throw new ParseError(`USDT arguments ${JSON.stringify(args)}: more than 12`);
  return parts.map((arg) => {
    const m = /^(-?)(\d+)@(.+)$/.exec(arg);
    if (!m) throw new ParseError(`USDT argument ${JSON.stringify(arg)}: expected [-]size@location`);
    const size = Number(m[2]);
    if (![1, 2, 4, 8].includes(size)) throw new ParseError(`USDT argument ${JSON.stringify(arg)}: size ${size} is not 1, 2, 4 or 8`);
    const signed = m[1] === "-";
    const bitshift = 64 - size * 8;
    const loc = m[3]!;
    let r: RegExpExecArray | null;
    if ((r = /^\$(-?(?:0x[0-9a-fA-F]+|\d+))$/.exec(loc))) {
      return { type: "const", valOff: BigInt.asUintN(64, BigInt(r[1]!)), regOff: -1, signed, bitshift };
    }
    if ((r = /^%([a-z0-9]+)$/.exec(loc))) return { type: "reg", valOff: 0n, regOff: regOffset(r[1]!, arg), signed, bitshift };
    if ((r = /^(-?(?:0x[0-9a-fA-F]+|\d+))?\(%([a-z0-9]+)\)$/.exec(loc))) {
      return { type: "reg_deref", valOff: BigInt.asUintN(64, BigInt(r[1] ?? "0")), regOff: regOffset(r[2]!, arg), signed, bitshift };
    }
    throw new ParseError(`USDT argument ${JSON.stringify(arg)}: this location form is not supported by usdt.bpf.h (scaled-index or symbol-relative addressing)`);
  });
}

/** Size of `struct __bpf_usdt_spec`. */
export const USDT_SPEC_SIZE = 208;

/** Encode `struct __bpf_usdt_spec` (args, cookie, arg count). Pure. */
export function encodeUsdtSpec(args: readonly UsdtArgSpec[], cookie: bigint): Uint8Array {
  const b = new Uint8Array(USDT_SPEC_SIZE);
  const v = new DataView(b.buffer);
  args.forEach((a, i) => {
    const o = i * 16;
    v.setBigUint64(o, a.valOff, true);
    v.setUint32(o + 8, USDT_ARG[a.type], true);
    v.setInt16(o + 12, a.regOff, true);
    v.setUint8(o + 14, a.signed ? 1 : 0);
    v.setInt8(o + 15, a.bitshift);
  });
  v.setBigUint64(192, BigInt.asUintN(64, cookie), true);
  v.setInt16(200, args.length, true);
  return b;
}

/** A map as usdt needs it: a BpfMap, or anything with the map's fd. Written with raw bytes. */
export interface UsdtSpecMap {
  readonly fd: number;
}

/** Options of `attachUsdt`. */
export interface UsdtOptions {
  /** The binary or library holding the probes. */
  path: string;
  /** The probe's provider, e.g. `"tsbpf"` in `DTRACE_PROBE(tsbpf, tick)`. */
  provider: string;
  /** The probe's name. */
  name: string;
  /** Only in this process. Default: every process. */
  pid?: number;
  /** A value the program reads with `bpf_usdt_cookie()`. Default 0. */
  cookie?: bigint;
  /** The program's `__bpf_usdt_specs` map (e.g. `collection.maps.__bpf_usdt_specs`). */
  specsMap: UsdtSpecMap;
  /**
   * The program's `__bpf_usdt_ip_to_spec_id` map, for kernels without BPF cookies (before
   * 5.15): not supported yet, so passing it has no effect; cookies are always used.
   */
  ipToSpecIdMap?: UsdtSpecMap;
}

const KEYS = ["path", "provider", "name", "pid", "cookie", "specsMap", "ipToSpecIdMap"] as const;

/** Spec ids in use per specs map (by map fd): usdt.bpf.h's array holds 256. */
const usedIds = new Map<number, Set<number>>();
const MAX_SPECS = 256;

function allocId(mapFd: number): number {
  let s = usedIds.get(mapFd);
  if (!s) usedIds.set(mapFd, (s = new Set()));
  for (let i = 0; i < MAX_SPECS; i++) {
    if (!s.has(i)) {
      s.add(i);
      return i;
    }
  }
  throw new TsbpfError(`usdt: all ${MAX_SPECS} spec slots of this __bpf_usdt_specs map are in use`);
}

class UsdtLink extends LinkBase {
  readonly type = "usdt";
  readonly #links: Link[];
  readonly #label: string;
  readonly #release: () => void;
  readonly #sites: number;
  constructor(links: Link[], label: string, sites: number, release: () => void) {
    super();
    this.#links = links;
    this.#label = label;
    this.#sites = sites;
    this.#release = release;
  }
  describe(): string {
    return this.#label;
  }
  info(): LinkInfo {
    this.checkOpen();
    return { type: "usdt", sites: this.#sites, links: this.#links.map((l) => l.info()) };
  }
  protected release(): void {
    try {
      for (const l of this.#links) l.close();
    } finally {
      this.#release();
    }
  }
}


/**
 * Attach a program built with usdt.bpf.h to every site of USDT probe `provider:name` in a
 * binary. Each site gets a uprobe (its semaphore as ref_ctr) whose BPF cookie is the spec id
 * of its argument specs. Min kernel 4.20 for semaphores; 5.15 for cookies. Throws TsbpfError
 * when the binary has no such probe, ParseError for argument forms usdt.bpf.h cannot read.
 */
export function attachUsdt(program: AttachProgram<"kprobe">, options: UsdtOptions): Link {
  checkOptions("attachUsdt", options, KEYS);
  expectProgramType(program, "usdt", "attachUsdt");
  if (!options.specsMap || typeof options.specsMap.fd !== "number") throw new TypeError("attachUsdt: specsMap must be the program's __bpf_usdt_specs map");
  const path = resolveBinaryPath(options.path);
  const elf = loadBinary(path);
  const notes = parseUsdtNotes(elf).filter((n) => n.provider === options.provider && n.name === options.name);
  if (notes.length === 0) throw new TsbpfError(`usdt ${options.provider}:${options.name}: no such probe in ${path}`);
  const label = `usdt ${options.provider}:${options.name} in ${path} ${programLabel(program)}`;
  const specsFd = options.specsMap.fd;
  const ids: number[] = [];
  const links: Link[] = [];
  const releaseIds = () => {
    for (const id of ids) {
      usedIds.get(specsFd)?.delete(id);
    }
  };
  try {
    for (const note of notes) {
      const args = parseUsdtArgs(note.args);
      const id = allocId(specsFd);
      ids.push(id);
      writeSpec(specsFd, id, encodeUsdtSpec(args, options.cookie ?? 0n), `${label}: write spec ${id}`, "is this the program's __bpf_usdt_specs map (value size 208)?");
      const offset = vaddrToFileOffset(elf, note.pc, label);
      const refCtrOffset = note.semaphore === 0n ? undefined : vaddrToFileOffset(elf, note.semaphore, label);
      try {
        links.push(attachUprobe(program, { path, offset, refCtrOffset, pid: options.pid, cookie: BigInt(id), method: "link" }));
      } catch (e) {
        // Only perf_event links carry cookies: without them (before 5.15) BPF_LINK_CREATE says EINVAL.
        if (e instanceof BpfError && e.code === "EINVAL" && e.command === "BPF_LINK_CREATE") {
          throw new NotSupportedError("USDT without BPF cookies on perf event links", {
            minKernel: "5.15",
            detail: "BPF_LINK_CREATE refused the perf event link (EINVAL): the kernel predates 5.15, or the program is not a kprobe program",
            cause: e,
          });
        }
        throw e;
      }
    }
  } catch (e) {
    for (const l of links) l.close();
    releaseIds();
    throw e;
  }
  return new UsdtLink(links, label, notes.length, releaseIds);
}

/**
 * Write spec `id` into the program's `__bpf_usdt_specs` map by its fd: the caller passes any
 * map-like `{ fd }` (a BpfMap of whatever codecs), so the value goes in as raw bytes. Throws
 * BpfError with `hint` for E2BIG/EINVAL.
 */
function writeSpec(mapFd: number, id: number, value: Uint8Array, context: string, hint: string): void {
  const k = new NativeMemory(4);
  new DataView(k.bytes.buffer, k.bytes.byteOffset, 4).setUint32(0, id, true);
  const val = new NativeMemory(value.length);
  val.bytes.set(value);
  const r = new MapElemAttr(mapFd, k.address, val.address).update(0);
  if (r < 0) failMapCall(BpfCmd.BPF_MAP_UPDATE_ELEM, r, context, hint);
}
