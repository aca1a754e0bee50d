/**
 * An ELF program's kernel bytes straight from its section bytes (#19): its functions' slots one
 * after another, with the relocation patches applied as the loader's encoder applies them to
 * the decoded instructions (`encodeForLoad` over the linked list), and each map reference's fd
 * left 0 at a recorded slot for the loader to fill. No instruction objects are made, so a load
 * costs no decode. Only what plain programs hold: a patch of another kind (a ksym, an extern),
 * a big-endian object or a section the decoder refuses gives up (undefined), and the loader
 * then encodes the decoded instructions, which also reports the error.
 */
import { decodable, type FdSlot } from "../asm/encoding.js";
import type { Reference } from "../asm/instruction.js";
import { labelField } from "../asm/link.js";
import * as op from "../asm/opcodes.js";
import type { ElfFunc } from "./programs.js";

const { LD_IMM64, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, BPF_PSEUDO_FUNC } = op;
const INSN = 8;

type Code = ElfFunc["code"];
type Patch = { slot: number; src?: number; reference: Reference };

/** A program's kernel bytes with the map fds to fill: the template a loader keeps. */
export interface KernelBytes {
  bytes: Uint8Array;
  fdSlots: FdSlot[];
}

/** Per code section: whether the decoder accepts it, and its patches in slot order. */
const sections = new WeakMap<Code, { decodable: boolean; patches: Patch[] }>();

function sectionFacts(code: Code): { decodable: boolean; patches: Patch[] } {
  let facts = sections.get(code);
  if (facts === undefined) {
    const patches: Patch[] = code.patches.slice().sort((a, b) => a.slot - b.slot);
    facts = { decodable: decodable(code.section.data, code.le ? "little" : "big"), patches };
    sections.set(code, facts);
  }
  return facts;
}

/** Whether every section `order`'s functions live in decodes (checked once per section). */
export function functionsDecodable(order: readonly ElfFunc[]): boolean {
  return order.every((f) => sectionFacts(f.code).decodable);
}

/** Whether any of `order`'s functions holds a reference of `kind` (from the patches, without decoding). */
export function functionsRefer(order: readonly ElfFunc[], kind: Reference["kind"]): boolean {
  for (const f of order) {
    const all = sectionFacts(f.code).patches;
    for (let i = firstPatch(all, f.startSlot), end = f.startSlot + f.slots; i < all.length && all[i].slot < end; i++) {
      if (all[i].reference.kind === kind) return true;
    }
  }
  return false;
}

/** The index of the first patch at or after `slot` in slot-ordered `all`. */
function firstPatch(all: readonly Patch[], slot: number): number {
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (all[mid].slot < slot) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The kernel bytes of the program made of `order` (entry first), or undefined when this path
 * does not apply (see the module comment). The bytes equal what `encodeForLoad` makes of the
 * linked decoded instructions with every map's fd 0, and `fdSlots` says where each fd goes.
 */
export function kernelBytes(order: readonly ElfFunc[]): KernelBytes | undefined {
  // The kernel takes little-endian instructions only (the loader refuses other objects first).
  if (!order.every((f) => f.code.le) || !functionsDecodable(order)) return undefined;
  let slots = 0;
  const base = new Map<string, number>();
  for (const f of order) {
    if (base.has(f.label)) return undefined;
    base.set(f.label, slots);
    slots += f.slots;
  }
  const out = new Uint8Array(slots * INSN);
  const view = new DataView(out.buffer);
  const fdSlots: FdSlot[] = [];
  for (const f of order) {
    const start = base.get(f.label)!;
    const data = f.code.section.data;
    out.set(data.subarray(f.startSlot * INSN, (f.startSlot + f.slots) * INSN), start * INSN);
    const all = sectionFacts(f.code).patches;
    for (let i = firstPatch(all, f.startSlot), end = f.startSlot + f.slots; i < all.length && all[i].slot < end; i++) {
      const p = all[i];
      const here = start + p.slot - f.startSlot;
      const at = here * INSN;
      const ref = p.reference;
      const opcode = out[at];
      const dst = out[at + 1] & 0xf;
      const src = p.src ?? out[at + 1] >> 4;
      if (opcode === LD_IMM64) {
        if (ref.kind === "map") {
          const off = ref.offset ?? 0;
          if (!Number.isInteger(off) || off < 0 || off > 0xffffffff) return undefined;
          const value = ref.value === true || off !== 0;
          out[at + 1] = ((value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD) << 4) | dst;
          view.setUint32(at + 4, 0, true);
          view.setUint32(at + 12, value ? off : 0, true);
          fdSlots.push({ at: at + 4, map: ref.name });
        } else if (ref.kind === "symbol" && src === BPF_PSEUDO_FUNC) {
          const target = base.get(ref.name);
          if (target === undefined) return undefined;
          const lo = target - here - 1;
          out[at + 1] = (src << 4) | dst;
          view.setInt32(at + 4, lo, true);
          view.setInt32(at + 12, lo < 0 ? -1 : 0, true);
        } else {
          return undefined;
        }
        continue;
      }
      if (ref.kind !== "symbol") return undefined;
      const target = base.get(ref.name);
      if (target === undefined) return undefined;
      const delta = target - here - 1;
      const field = labelField(opcode, src);
      if (field === "imm") view.setInt32(at + 4, delta, true);
      else if (field === "offset" && delta >= -0x8000 && delta <= 0x7fff) view.setInt16(at + 2, delta, true);
      else return undefined;
      out[at + 1] = (src << 4) | dst;
    }
  }
  return { bytes: out, fdSlots };
}
