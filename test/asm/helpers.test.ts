import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HELPER_NAMES, helperId, helperName } from "../../src/asm/helpers.js";

describe("helper ids (__BPF_FUNC_MAPPER of Linux 6.18)", () => {
  it("ends with the helpers added in 6.2 and has no gaps", () => {
    expect(HELPER_NAMES.length).toBe(212);
    expect(helperId("cgrp_storage_get")).toBe(210);
    expect(helperId("cgrp_storage_delete")).toBe(211);
    expect(new Set(HELPER_NAMES).size).toBe(HELPER_NAMES.length);
  });

  it("resolves names with and without the bpf_ prefix, and ids back to names", () => {
    expect(helperId("map_lookup_elem")).toBe(1);
    expect(helperId("bpf_map_lookup_elem")).toBe(1);
    expect(helperId("bpf_ktime_get_ns")).toBe(5);
    expect(helperId("unspec")).toBeUndefined();
    expect(helperId("no_such_helper")).toBeUndefined();
    expect(helperName(12)).toBe("tail_call");
    expect(helperName(0)).toBeUndefined();
    expect(helperName(212)).toBeUndefined();
  });

  // The system's UAPI header (Debian's is 6.1-era) must agree on every id it has.
  it.skipIf(!existsSync("/usr/include/linux/bpf.h"))("agrees with /usr/include/linux/bpf.h on every helper it lists", () => {
    const header = readFileSync("/usr/include/linux/bpf.h", "utf8");
    const mapper = header.slice(header.indexOf("#define __BPF_FUNC_MAPPER"));
    const names = [...mapper.matchAll(/FN\(([a-z0-9_]+)[,)]/g)].map((m) => m[1]).filter((n) => n !== "x");
    expect(names.length).toBeGreaterThan(200);
    expect(HELPER_NAMES.slice(0, names.length)).toEqual(names);
  });
});
