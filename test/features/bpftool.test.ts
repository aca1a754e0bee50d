/**
 * tsbpf's probes against `bpftool feature probe kernel --json` on this kernel: the same
 * sections and keys, the same answer for everything both report, and every difference a named
 * exception whose reason the test checks rather than trusts.
 */
import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect } from "vitest";
import { HELPER_NAMES } from "../../src/asm/helpers.js";
import {
  bpftoolReport,
  HELPER_PROBE_UNSUPPORTED_TYPES,
  PROGRAM_TYPE_MIN_KERNEL,
  probeHelper,
  probeMapType,
  probeProgramType,
  type BpftoolFeatureReport,
  type ProbedMapType,
} from "../../src/features/index.js";
import type { ProgramTypeName } from "../../src/spec/program-type.js";
import { describeKernel, hasTool, itKernel } from "../helpers/kernel.js";

/**
 * Keys tsbpf reports that an older bpftool lacks: types its libbpf's tables do not name. Each is
 * allowed only while the installed bpftool lacks it; a newer bpftool that has it is compared.
 */
const NEWER_THAN_BPFTOOL: Readonly<Record<string, string>> = {
  "program_types.have_netfilter_prog_type": "netfilter programs are Linux 6.4; libbpf 1.1 (bpftool 7.1) names program types only up to syscall",
  "helpers.netfilter_available_helpers": "the same: bpftool 7.1 does not know the netfilter program type",
  "map_types.have_cgrp_storage_map_type": "cgroup storage (BPF_MAP_TYPE_CGRP_STORAGE) is Linux 6.2; libbpf 1.1 names map types only up to user_ringbuf",
  "map_types.have_arena_map_type": "arena maps are Linux 6.9, after libbpf 1.1",
  "misc.have_v4_isa_extension": "bpftool added the ISA v4 probe after 7.1",
};

/** The wording of Linux 6.x's verifier that libbpf 1.1's helper probe does not recognise. */
const NEW_WORDING = "program of this type cannot use helper";

const enabled = hasTool("bpftool", ["version"]);
let bpftool: BpftoolFeatureReport;
let ours: BpftoolFeatureReport;

(enabled ? describeKernel : describe.skip)("feature probes against bpftool feature probe kernel", () => {
  beforeAll(() => {
    bpftool = JSON.parse(execFileSync("bpftool", ["feature", "probe", "kernel", "--json"], { encoding: "utf8" }));
    ours = bpftoolReport();
  }, 120_000);

  itKernel("has bpftool's top-level sections, in its order", () => {
    expect(Object.keys(ours)).toEqual(Object.keys(bpftool));
  });

  itKernel("reports every key bpftool reports, and only named extras besides", () => {
    for (const section of Object.keys(bpftool) as (keyof BpftoolFeatureReport)[]) {
      const theirs = Object.keys(bpftool[section] ?? {});
      const mine = Object.keys(ours[section] ?? {});
      for (const k of theirs) expect(mine, `${section}.${k}`).toContain(k);
      const extras = mine.filter((k) => !theirs.includes(k)).map((k) => `${section}.${k}`);
      for (const e of extras) expect(Object.keys(NEWER_THAN_BPFTOOL), `extra key ${e} has no named reason`).toContain(e);
    }
  });

  itKernel("system_config and syscall_config: the same values (sysctls and kernel config)", () => {
    expect(ours.system_config).toEqual(bpftool.system_config);
    expect(ours.syscall_config).toEqual(bpftool.syscall_config);
  });

  itKernel("program_types: the same answer for every type both know; refusals are false in both", () => {
    for (const [k, v] of Object.entries(bpftool.program_types!)) expect(ours.program_types![k], k).toBe(v);
    // Where bpftool says false, tsbpf says why: unsupported or refused, never supported.
    for (const [k, v] of Object.entries(bpftool.program_types!)) {
      const type = k.replace(/^have_(.*)_prog_type$/, "$1") as ProgramTypeName;
      if (!v) expect(probeProgramType(type).status, type).not.toBe("supported");
    }
  });

  itKernel("map_types: the same answer for every type both know", () => {
    for (const [k, v] of Object.entries(bpftool.map_types!)) expect(ours.map_types![k], k).toBe(v);
  });

  itKernel("misc: the same answer for every feature both probe", () => {
    for (const [k, v] of Object.entries(bpftool.misc!)) expect(ours.misc![k], k).toBe(v);
  });

  itKernel("helpers: equal lists, but for two named exceptions each proven helper by helper", () => {
    // bpftool's helper table: every name it printed anywhere (it skips the noisy three).
    const known = new Set(Object.values(bpftool.helpers!).flat());
    for (const [key, theirs] of Object.entries(bpftool.helpers!)) {
      const type = key.replace(/_available_helpers$/, "") as ProgramTypeName;
      const mine = ours.helpers![key];
      const theirSet = new Set(theirs);
      const mineSet = new Set(mine);
      for (const name of theirs) {
        if (mineSet.has(name)) continue;
        // Exception 1: bpftool 7.1's libbpf (1.1) only knows the verifier's old wording
        // ("unknown func"), so on 6.x it counts "program of this type cannot use helper" as
        // available. The probe must have seen exactly that wording for this helper.
        const r = probeHelper(type, name.replace(/^bpf_/, ""));
        expect(r.status, `${type}/${name}`).toBe("unsupported");
        expect(r.detail, `${type}/${name}`).toContain(NEW_WORDING);
      }
      for (const name of mine) {
        if (theirSet.has(name)) continue;
        // Exception 2: helpers newer than bpftool's table (bpf_cgrp_storage_get/delete, 6.2).
        expect(known.has(name), `${type}/${name} is missing from bpftool's list without a reason`).toBe(false);
        expect(HELPER_NAMES.indexOf(name.replace(/^bpf_/, ""))).toBeGreaterThan(0);
      }
    }
  });

  itKernel("helpers: types bpftool cannot probe are empty in both", () => {
    for (const type of HELPER_PROBE_UNSUPPORTED_TYPES) {
      expect(bpftool.helpers![`${type}_available_helpers`], type).toEqual([]);
      expect(ours.helpers![`${type}_available_helpers`], type).toEqual([]);
    }
  });

  itKernel("every program and map type answer names its minimum kernel", () => {
    for (const type of Object.keys(PROGRAM_TYPE_MIN_KERNEL) as ProgramTypeName[]) {
      expect(probeProgramType(type).minKernel).toMatch(/^\d+\.\d+$/);
    }
    for (const k of Object.keys(ours.map_types!)) {
      expect(probeMapType(k.replace(/^have_(.*)_map_type$/, "$1") as ProbedMapType).minKernel).toMatch(/^\d+\.\d+$/);
    }
  });
});
