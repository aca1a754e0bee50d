import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { isMapTypeName, MAP_TYPES, mapTypeName, mapTypeNumber } from "../../src/spec/map-type.js";
import { parseCpuList } from "../../src/map/possible-cpus.js";
import { kernelMapName } from "../../src/spec/map-spec.js";
import { hasKernelBtf } from "../helpers/kernel.js";

describe("map type table", () => {
  it("has one distinct number per name, and looks both ways", () => {
    const numbers = Object.values(MAP_TYPES);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const [name, n] of Object.entries(MAP_TYPES)) {
      expect(mapTypeName(n)).toBe(name);
      expect(mapTypeNumber(name as never)).toBe(n);
      expect(isMapTypeName(name)).toBe(true);
    }
    expect(mapTypeName(1000)).toBeUndefined();
    expect(mapTypeNumber(1000)).toBe(1000);
    expect(() => mapTypeNumber("hashmap" as never)).toThrow(TypeError);
    expect(() => mapTypeNumber(-1)).toThrow(RangeError);
    expect(isMapTypeName("toString")).toBe(false);
  });

  it.skipIf(!hasKernelBtf)("matches enum bpf_map_type in the running kernel's BTF", () => {
    const c = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"], {
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    const body = /enum bpf_map_type \{([^}]*)\}/.exec(c)![1]!;
    const kernel = new Map<string, number>();
    for (const m of body.matchAll(/BPF_MAP_TYPE_(\w+) = (\d+)/g)) kernel.set(m[1]!.toLowerCase(), Number(m[2]));
    for (const [name, n] of Object.entries(MAP_TYPES)) {
      // The kernel spells the two legacy cgroup storages *_DEPRECATED.
      const kname = name === "cgroup_storage" || name === "percpu_cgroup_storage" ? `${name}_deprecated` : name;
      expect([name, kernel.get(kname)]).toEqual([name, n]);
    }
  });
});

describe("helpers", () => {
  it("parses kernel CPU lists", () => {
    expect(parseCpuList("0-1\n")).toEqual([0, 1]);
    expect(parseCpuList("0,2-4,7")).toEqual([0, 2, 3, 4, 7]);
    expect(parseCpuList("")).toEqual([]);
    expect(() => parseCpuList("0-")).toThrow(RangeError);
    expect(() => parseCpuList("3-1")).toThrow(RangeError);
  });

  it("truncates map names to 15 characters and refuses characters the kernel refuses", () => {
    expect(kernelMapName("abcdefghijklmnopqrstuvwxyz")).toBe("abcdefghijklmno");
    expect(kernelMapName(".rodata")).toBe(".rodata");
    expect(() => kernelMapName("my map")).toThrow(TypeError);
    expect(() => kernelMapName("naïve")).toThrow(TypeError);
  });
});
