/**
 * tsbpf's CO-RE values agree with libbpf's, relocation by relocation: `bpftool -d prog loadall`
 * prints libbpf's decision for every record ("relo #3: patched insn #12 (LDX/ST/STX) off 32 ->
 * 1280", "substituting insn #49 w/ invalid insn"), which is compared with applyCoreAndKsyms on
 * the same object against the same kernel. Covers every object in bpf/core/ (1,000+ records).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { applyCoreAndKsyms } from "../../../src/collection/core-apply.js";
import { kernelBtf } from "../../../src/features/kernel-btf.js";
import { CollectionSpec } from "../../../src/elf/collection-spec.js";
import { describeKernel, itKernel, uniqueName } from "../../helpers/kernel.js";

const DIR = fileURLToPath(new URL("../../../bpf/core/", import.meta.url));

interface LibbpfDecision {
  insn: number;
  from?: bigint;
  to?: bigint;
  poisoned: boolean;
}

/** libbpf's CO-RE decisions for the object, by program and relocation index. */
function libbpfDecisions(path: string): Map<string, Map<number, LibbpfDecision>> {
  const pin = `/sys/fs/bpf/${uniqueName("tsbpfcore")}`;
  mkdirSync(pin);
  try {
    const r = spawnSync("bpftool", ["-d", "prog", "loadall", path, pin], { encoding: "utf8" });
    const out = new Map<string, Map<number, LibbpfDecision>>();
    for (const line of `${r.stdout}\n${r.stderr}`.split("\n")) {
      const m = /prog '([^']+)': relo #(\d+): (?:patched insn #(\d+) \([^)]*\) (?:imm|off|imm64) (\d+) -> (\d+)|substituting insn #(\d+) w\/ invalid insn)/.exec(line);
      if (!m) continue;
      let p = out.get(m[1]);
      if (!p) out.set(m[1], (p = new Map()));
      p.set(
        Number(m[2]),
        m[3] !== undefined ? { insn: Number(m[3]), from: BigInt(m[4]), to: BigInt(m[5]), poisoned: false } : { insn: Number(m[6]), poisoned: true },
      );
    }
    return out;
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
}

const u64 = (x: number | bigint | undefined) => (x === undefined ? undefined : BigInt.asUintN(64, BigInt(x)));

describeKernel("CO-RE agrees with libbpf", () => {
  const objects = readdirSync(DIR).filter((f) => f.endsWith(".o"));

  itKernel.each(objects)("%s: every relocation gets libbpf's value", (file) => {
    const path = `${DIR}${file}`;
    const spec = CollectionSpec.fromFile(path);
    const ours = applyCoreAndKsyms(spec, kernelBtf(), { programs: spec.autoloadPrograms });
    const theirs = libbpfDecisions(path);
    let compared = 0;
    for (const name of spec.autoloadPrograms) {
      const p = spec.programs[name];
      // libbpf reports a subprogram's records under the subprogram's name, with its own
      // instruction numbers; tsbpf has them in the linked program. Compare by final slot.
      const startSlot = new Map<string, number>();
      let slot = 0;
      for (const insn of p.instructions) {
        if (insn.symbol !== undefined && !startSlot.has(insn.symbol)) startSlot.set(insn.symbol, slot);
        slot += insn.opcode === 0x18 ? 2 : 1;
      }
      const bySlot = new Map<number, LibbpfDecision>();
      for (const fn of [name, ...(p.subprograms ?? [])]) {
        const base = startSlot.get(fn) ?? 0;
        for (const d of theirs.get(fn.split("@")[0])?.values() ?? []) bySlot.set(base + d.insn, d);
      }
      const mine = ours.relocations[name];
      expect(bySlot.size, `libbpf relocations of ${name} and its subprograms`).toBe(mine.length);
      for (const r of mine) {
        const d = bySlot.get(r.slot);
        expect(d, `${name} relo #${r.index} at slot ${r.slot}`).toBeDefined();
        expect({ relo: r.index, poisoned: r.poisoned }).toEqual({ relo: r.index, poisoned: d!.poisoned });
        if (!r.poisoned) expect({ relo: r.index, from: u64(r.localValue), to: u64(r.targetValue) }).toEqual({ relo: r.index, from: d!.from, to: d!.to });
        compared++;
      }
    }
    if (spec.autoloadPrograms.some((n) => spec.programs[n].coreRelocations?.length)) expect(compared).toBeGreaterThan(0);
  }, 60_000);
});
