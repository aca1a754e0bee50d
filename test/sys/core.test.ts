import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { BpfError, ClosedError, holdsBpfPrivilege, isBpfError, isClosedError, VerifierError, errnoName } from "../../src/errors.js";
import { BpfCmd, bpfCall, bpfCmdName } from "../../src/sys/bpf.js";
import { Fd } from "../../src/sys/fd.js";
import { NativeMemory, SYS, syscall3 } from "../../src/sys/libc.js";
import { describeKernel, isFdOpen } from "../helpers/kernel.js";

describe("errors", () => {
  it("names the command and errno and says what to check", () => {
    const e = new BpfError("BPF_MAP_CREATE", 22, { context: 'map "counts": create' });
    expect(e.message).toBe('map "counts": create: EINVAL from BPF_MAP_CREATE (an argument is invalid for this kernel (type, size, flags or attach type))');
    expect(e.code).toBe("EINVAL");
    expect(e.name).toBe("BpfError");
    expect(isBpfError(e)).toBe(true);
    expect(isBpfError(new Error("x"))).toBe(false);
  });

  it("says EPERM needs privileges only when the process lacks them, and names the policy to check when it has them", () => {
    // The same message made in this process and in a child stripped of every capability.
    const script = `import { BpfError } from ${JSON.stringify(resolve("src/errors.ts"))}; console.log(new BpfError("BPF_MAP_CREATE", 1, { context: "map \\"m\\": create" }).message);`;
    const run = (prefix: string[]) => {
      const r = spawnSync(prefix[0]!, [...prefix.slice(1), process.execPath, "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      return r.stdout.trim();
    };
    const stripped = run(["setpriv", "--inh-caps=-all", "--bounding-set=-all"]);
    expect(stripped).toBe('map "m": create: EPERM from BPF_MAP_CREATE (needs root or CAP_BPF (and CAP_PERFMON/CAP_NET_ADMIN for some kinds))');
    if (holdsBpfPrivilege()) {
      const here = run(["env"]);
      expect(here).not.toContain("needs root");
      expect(here).toContain("refused although this process holds CAP_SYS_ADMIN/CAP_BPF");
      expect(here).toMatch(/sandbox or security module .* kernel lockdown/);
    }
  });

  it("keeps the whole verifier log and shows its tail", () => {
    const log = Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n");
    const e = new VerifierError("BPF_PROG_LOAD", 13, log);
    expect(e.log).toHaveLength(20);
    expect(e.message).toContain("12 earlier log lines omitted");
    expect(e.message).toContain("line 19");
    expect(e.message).not.toContain("line 11\n");
    expect(isBpfError(e)).toBe(true);
  });

  it("maps errno numbers to names", () => {
    expect(errnoName(22)).toBe("EINVAL");
    expect(errnoName(9999)).toBe("E9999");
  });

  it("names bpf commands", () => {
    expect(bpfCmdName(BpfCmd.BPF_PROG_LOAD)).toBe("BPF_PROG_LOAD");
    expect(bpfCmdName(200)).toBe("BPF_CMD_200");
  });
});

describe("Fd", () => {
  it("closes once, then refuses use with ClosedError", () => {
    const fd = syscall3(SYS.fcntl, 0, 1030, 3); // dup of stdin
    const owned = new Fd(fd, "test fd");
    expect(isFdOpen(fd)).toBe(true);
    owned.close();
    owned.close();
    expect(owned.closed).toBe(true);
    expect(isFdOpen(fd)).toBe(false);
    expect(() => owned.value).toThrow(ClosedError);
    try {
      owned.value;
    } catch (e) {
      expect(isClosedError(e)).toBe(true);
      expect((e as Error).message).toBe("test fd is closed: it cannot be used after close() or dispose");
    }
  });

  it("closes at the end of a using block", () => {
    let n: number;
    {
      using owned = new Fd(syscall3(SYS.fcntl, 0, 1030, 3));
      n = owned.value;
      expect(isFdOpen(n)).toBe(true);
    }
    expect(isFdOpen(n)).toBe(false);
  });

  it("rejects invalid numbers", () => {
    expect(() => new Fd(-1)).toThrow(RangeError);
  });
});

describeKernel("bpf(2)", () => {
  it("reports an invalid command as EINVAL from the named command", () => {
    const attr = new NativeMemory(16);
    expect(() => bpfCall(999, attr, 16)).toThrow(/EINVAL from BPF_CMD_999/);
  });
});
