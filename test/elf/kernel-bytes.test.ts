/**
 * Kernel bytes made from an ELF program's section bytes (src/elf/kernel-bytes.ts) must be the
 * bytes the loader's encoder makes from the decoded, linked instructions, for every program of
 * every object in the repository, and for objects whose code bytes are spoilt at random: where
 * the decoder refuses a section, the raw path must give up (so the loader reports the decoder's
 * error), never send the bytes.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CollectionSpec, peekDecodable, peekKernelBytes } from "../../src/elf/collection-spec.js";
import { isParseError } from "../../src/errors.js";
import { encodeForLoad, refillFds } from "../../src/program/encode-for-load.js";
import { fcSeed } from "../helpers/fast-check-seed.js";

const ROOT = join(__dirname, "../..");

function objects(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...objects(path));
    else if (name.endsWith(".o")) out.push(path);
  }
  return out;
}

function open(bytes: Uint8Array): CollectionSpec | undefined {
  try {
    return CollectionSpec.fromBytes(bytes);
  } catch (e) {
    if (isParseError(e)) return undefined;
    throw e;
  }
}

/** A made-up fd per map name (every name the object has), so both sides fill the same numbers. */
function lookupFor(spec: CollectionSpec): (name: string) => number | undefined {
  const names = Object.keys(spec.maps).sort();
  return (name) => (names.includes(name) ? 100 + names.indexOf(name) : undefined);
}

type Outcome = "raw" | "encoder only" | "neither" | "refused" | "big-endian";

/** Compare both paths for every program of the object in `bytes`; what happened to each. */
function compare(bytes: Uint8Array, where: string): Outcome[] {
  const raw = open(bytes);
  const decoded = open(bytes);
  if (raw === undefined || decoded === undefined) return [];
  const lookup = lookupFor(raw);
  const outcomes: Outcome[] = [];
  for (const name of Object.keys(raw.programs)) {
    const what = `${where}: program ${name}`;
    const made = peekKernelBytes(raw.programs[name]);
    const decodes = peekDecodable(raw.programs[name]);
    let insns;
    try {
      insns = decoded.programs[name].instructions;
    } catch (e) {
      if (!isParseError(e)) throw e;
      // The decoder refuses: the raw path must not make bytes, and must say it would not decode.
      expect(made, what).toBeUndefined();
      expect(decodes, what).toBe(false);
      outcomes.push("refused");
      continue;
    }
    expect(decodes, what).toBe(true);
    const encoded = encodeForLoad(insns, lookup);
    const plain = !insns.some((i) => i.reference?.kind === "ksym" || i.reference?.kind === "extern");
    if (made === undefined && raw.byteOrder === "big") {
      outcomes.push("big-endian"); // loaded by no kernel here; the loader refuses it first
      continue;
    }
    if (made === undefined) {
      // Only programs the loader cannot encode in one pass, or with ksyms/externs, are left out.
      expect(encoded === undefined || !plain, what).toBe(true);
      outcomes.push(encoded === undefined ? "neither" : "encoder only");
      continue;
    }
    expect(encoded, what).toBeDefined();
    expect(refillFds(made.bytes, made.fdSlots, lookup), what).toBe(true);
    expect(Buffer.from(made.bytes).equals(Buffer.from(encoded!)), what).toBe(true);
    outcomes.push("raw");
  }
  return outcomes;
}

describe("kernel bytes from ELF section bytes", () => {
  it("equal the encoder's bytes from the decoded instructions, for every program of every object here", () => {
    const files = [...objects(join(ROOT, "bpf")), ...objects(join(ROOT, "test"))];
    const counts: Record<Outcome, number> = { raw: 0, "encoder only": 0, neither: 0, refused: 0, "big-endian": 0 };
    for (const f of files) for (const o of compare(readFileSync(f), f)) counts[o]++;
    // Most programs take the raw path; the rest hold ksyms/externs (the encoder gives up on
    // those as well) or are big-endian.
    expect(counts.raw).toBeGreaterThan(150);
    expect(counts["encoder only"]).toBe(0);
  });

  it("give up wherever the decoder refuses a spoilt code byte, and otherwise still equal the encoder's", () => {
    const file = readFileSync(join(ROOT, "bpf/subprograms.o"));
    const spec = CollectionSpec.fromBytes(file);
    // The code sections' file ranges, from the ELF section headers of the object.
    const code = readElfSections(file).filter((s) => (s.flags & 0x4) !== 0 && s.size > 0);
    expect(code.length).toBeGreaterThan(0);
    expect(Object.keys(spec.programs).length).toBeGreaterThan(0);
    let refused = 0;
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (which, at, value) => {
        const s = code[which % code.length];
        const bytes = new Uint8Array(file);
        bytes[s.offset + (at % s.size)] = value;
        const outcomes = compare(bytes, `byte ${s.offset + (at % s.size)} = ${value}`);
        if (outcomes.includes("refused")) refused++;
        expect(outcomes).not.toContain("encoder only");
      }),
      { seed: fcSeed, numRuns: 300 },
    );
    expect(refused).toBeGreaterThan(0); // the property did reach the decoder's refusals
  });
});

/** Section headers of a little-endian ELF64 file: offset, size, flags. */
function readElfSections(file: Uint8Array): { offset: number; size: number; flags: number }[] {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const out = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    out.push({ flags: Number(v.getBigUint64(at + 8, true)), offset: Number(v.getBigUint64(at + 0x18, true)), size: Number(v.getBigUint64(at + 0x20, true)) });
  }
  return out;
}
