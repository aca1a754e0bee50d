/**
 * What each probe answers, checked against the kernel doing the real thing: a refusal by the
 * sandbox (EPERM) is "refused", never "unsupported"; a probe's answer matches what a full
 * BpfMap/Program of that kind does; the pure parts (errno classes, capability masks, error
 * messages, the cache) without a kernel.
 */
import { describe, expect, it } from "vitest";
import { isBpfError, isNotSupportedError, NotSupportedError } from "../../src/errors.js";
import {
  availableHelpers,
  capabilities,
  isaVersion,
  notSupported,
  probeAll,
  probeArena,
  probeHelper,
  probeMapType,
  probeProgramType,
  probeTracingAttach,
  requireFeature,
  type ProbeResult,
} from "../../src/features/index.js";
import { cachedProbe, classifyErrno, ProbeCache, supported, unsupported } from "../../src/features/probe.js";
import { parseCapabilityMask } from "../../src/features/system.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { Program } from "../../src/program/program.js";
import { kernelBtf } from "../../src/features/kernel-btf.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";

describe("probe results without a kernel", () => {
  it("classifies errnos: EINVAL/E2BIG/EOPNOTSUPP/ENOTSUPP unsupported, EPERM refused, the rest inconclusive", () => {
    expect(classifyErrno(22, "BPF_MAP_CREATE")?.status).toBe("unsupported");
    expect(classifyErrno(7, "BPF_MAP_CREATE")?.status).toBe("unsupported");
    expect(classifyErrno(95, "BPF_MAP_CREATE")?.status).toBe("unsupported");
    expect(classifyErrno(524, "BPF_MAP_CREATE")?.status).toBe("unsupported");
    const eperm = classifyErrno(1, "BPF_MAP_CREATE")!;
    expect(eperm.status).toBe("refused");
    expect(eperm.detail).toMatch(/^EPERM from BPF_MAP_CREATE: /);
    expect(classifyErrno(12, "BPF_MAP_CREATE")).toBeUndefined(); // ENOMEM says nothing about support
  });

  it("runs a cached probe's body once, and retries one that was inconclusive", () => {
    let runs = 0;
    const p = cachedProbe("thing", "9.9", () => {
      runs++;
      return supported();
    });
    expect(p()).toBe(p());
    expect(runs).toBe(1);
    let tries = 0;
    const flaky = cachedProbe("flaky", "9.9", () => {
      if (++tries === 1) throw new Error("EBUSY");
      return unsupported(22);
    });
    expect(() => flaky()).toThrow("EBUSY");
    expect(flaky()).toMatchObject({ status: "unsupported", errno: "EINVAL", minKernel: "9.9" });
    expect(tries).toBe(2);
    const keyed = new ProbeCache<"a" | "b">((k) => ({ feature: k, minKernel: "1.0", outcome: () => ((runs += 10), supported()) }));
    keyed.get("a");
    keyed.get("a");
    keyed.get("b");
    expect(runs).toBe(21);
  });

  it("makes a NotSupportedError that names the feature and its minimum kernel, and says 'refused' for EPERM", () => {
    const missing: ProbeResult = { feature: "map type arena", status: "unsupported", minKernel: "6.9", errno: "EINVAL" };
    const e = notSupported(missing);
    expect(e).toBeInstanceOf(NotSupportedError);
    expect(e.message).toBe("map type arena is not supported by this kernel (requires Linux 6.9 or later)");
    expect(e.refused).toBe(false);
    const refusedResult: ProbeResult = { feature: "map type arena", status: "refused", minKernel: "6.9", errno: "EPERM", detail: "EPERM from BPF_MAP_CREATE" };
    const r = notSupported(refusedResult);
    expect(r.refused).toBe(true);
    expect(r.minKernel).toBe("6.9");
    expect(r.message).toBe("map type arena is refused on this system (the kernel has it since Linux 6.9, but refused it): EPERM from BPF_MAP_CREATE");
    expect(() => requireFeature({ feature: "x", status: "supported", minKernel: "1.0" })).not.toThrow();
  });

  it("parses capability masks (bit n = capability n)", () => {
    expect([...parseCapabilityMask("0000000000200000")]).toEqual(["CAP_SYS_ADMIN"]);
    expect([...parseCapabilityMask("000000c000001000")]).toEqual(["CAP_NET_ADMIN", "CAP_PERFMON", "CAP_BPF"]);
    expect(parseCapabilityMask("0").size).toBe(0);
    expect(parseCapabilityMask("000001ffffffffff").size).toBe(41);
  });

  it("rejects unknown names before any syscall", () => {
    expect(() => probeProgramType("nope" as never)).toThrow(TypeError);
    expect(() => probeMapType("nope" as never)).toThrow(TypeError);
    expect(() => probeHelper("xdp", "no_such_helper")).toThrow(TypeError);
    expect(() => probeHelper("tracing", "map_lookup_elem")).toThrow(/cannot be probed/);
    expect(() => availableHelpers("xdp", { fulll: true } as never)).toThrow(/availableHelpers: unknown option "fulll"/);
    expect(() => probeTracingAttach("trace_iter", "../x")).toThrow(TypeError);
  });
});

/** Run `fn`, returning undefined or the errno name it threw. */
function errnoOf(fn: () => { close(): void }): string | undefined {
  try {
    fn().close();
    return undefined;
  } catch (e) {
    if (!isBpfError(e)) throw e;
    return e.code;
  }
}

describeKernel("probes against the real operation", () => {
  itKernel("an arena map: the probe says refused exactly when BpfMap.create gets EPERM, supported when it works", () => {
    const got = errnoOf(() => BpfMap.create({ type: "arena", keySize: 0, valueSize: 0, maxEntries: 1, flags: 1 << 10 }));
    const r = probeArena();
    if (got === "EPERM") {
      expect(r).toMatchObject({ status: "refused", errno: "EPERM", minKernel: "6.9" });
      expect(r.detail).toMatch(/sandbox or LSM policy|lacks CAP_BPF/);
      const e = (() => {
        try {
          requireFeature(r);
        } catch (x) {
          return x;
        }
      })();
      expect(isNotSupportedError(e)).toBe(true);
      expect((e as NotSupportedError).refused).toBe(true);
      expect((e as Error).message).toMatch(/^arenas \(BPF_MAP_TYPE_ARENA\) is refused on this system \(the kernel has it since Linux 6\.9/);
    } else {
      expect(got).toBeUndefined();
      expect(r.status).toBe("supported");
    }
  });

  itKernel("iter/bpf_map_elem vs iter/task: the probe matches Program.load of each, refusal as refused", () => {
    for (const target of ["bpf_map_elem", "task"]) {
      const id = kernelBtf().typeByName(`bpf_iter_${target}`, "func")!.id;
      const got = errnoOf(() =>
        Program.load({ name: "it", type: "tracing", expectedAttachType: "trace_iter", attachBtfId: id, license: "GPL", instructions: [{ opcode: 0xb7, dst: 0, src: 0, offset: 0, imm: 0 }, { opcode: 0x95, dst: 0, src: 0, offset: 0, imm: 0 }] }),
      );
      const r = probeTracingAttach("trace_iter", target);
      expect(r.status, target).toBe(got === undefined ? "supported" : got === "EPERM" ? "refused" : "unsupported");
    }
  });

  itKernel("a helper the type may not call is unsupported with the verifier's line; one it may call is supported", () => {
    expect(probeHelper("socket_filter", "xdp_adjust_head")).toMatchObject({ status: "unsupported", minKernel: "4.10" });
    expect(probeHelper("xdp", "xdp_adjust_head").status).toBe("supported");
    expect(availableHelpers("xdp")).toContain("redirect_map");
    expect(availableHelpers("socket_filter")).not.toContain("redirect_map");
    expect(availableHelpers("xdp")).not.toContain("trace_printk"); // noisy: only with full
    expect(availableHelpers("xdp", { full: true })).toContain("trace_printk");
  });

  itKernel("every probe answers one of the three statuses, with a minimum kernel", () => {
    for (const [family, results] of Object.entries(probeAll())) {
      for (const r of results) {
        expect(["supported", "unsupported", "refused"], `${family}: ${r.feature}`).toContain(r.status);
        expect(r.minKernel, r.feature).toMatch(/^\d+\.\d+(\.\d+)?$/);
        if (r.status === "refused") expect(r.errno, r.feature).toBe("EPERM");
      }
    }
    expect(isaVersion()).toBe(4); // Linux 6.18
  });

  itKernel("capabilities come from /proc/self/status: root holds CAP_BPF; effective ⊆ permitted ⊆ bounding", () => {
    const c = capabilities();
    expect(c.effective.has("CAP_BPF")).toBe(true);
    for (const x of c.effective) expect(c.permitted.has(x), x).toBe(true);
    for (const x of c.permitted) expect(c.bounding.has(x), x).toBe(true);
  });
});
