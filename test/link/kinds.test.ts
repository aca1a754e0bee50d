/**
 * The link-kind registry (src/link/kinds.ts) is the one list of attach kinds: the `attach`
 * namespace and attachBySection are built from it, and the package exports each of its
 * functions by the function's own name.
 */
import { describe, expect, it } from "vitest";
import * as tsbpf from "../../src/index.js";
import { attach } from "../../src/link/attach.js";
import { planAttach } from "../../src/link/auto.js";
import { LINK_KINDS } from "../../src/link/kinds.js";
import { ATTACH_KIND_PROGRAM_TYPES } from "../../src/link/link.js";
import { SECTION_DEFS } from "../../src/spec/section-names.js";

describe("link kinds: one registry", () => {
  it("the attach namespace is the registry plus bySection, in the registry's order", () => {
    expect(Object.keys(attach)).toEqual([...Object.keys(LINK_KINDS), "bySection"]);
    for (const [kind, fn] of Object.entries(LINK_KINDS)) expect(attach[kind as keyof typeof attach]).toBe(fn);
  });

  it("the package exports every registered attach function under its own name", () => {
    const exported = tsbpf as unknown as Record<string, unknown>;
    for (const [kind, fn] of Object.entries(LINK_KINDS)) {
      expect(fn.name, kind).toMatch(/^attach[A-Z]/);
      expect(exported[fn.name], `${kind}: ${fn.name}`).toBe(fn);
    }
    expect(exported.attach).toBe(attach);
  });

  it("every kind but structOps has a row in the program-type table, and no other row exists", () => {
    expect(Object.keys(ATTACH_KIND_PROGRAM_TYPES).sort()).toEqual(Object.keys(LINK_KINDS).filter((k) => k !== "structOps").sort());
  });

  it("every kind a section name plans is a registered kind", () => {
    const planned = new Set<string>();
    for (const def of SECTION_DEFS) {
      const section = def.pattern.replace(/\+$/, "");
      try {
        planned.add(planAttach(section).kind);
      } catch {
        // sections that no link attaches (struct_ops, syscall, devmap entries) or that need a target
      }
    }
    expect(planned.size).toBeGreaterThan(15);
    for (const k of planned) expect(Object.keys(LINK_KINDS)).toContain(k);
  });
});
