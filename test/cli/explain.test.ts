/**
 * `tsbpf explain`: an object's rejected programs explained with source line, cause and fix; a
 * saved log explained alone or with the object's line info; usage errors.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { rejectionOf } from "../verifier/rejections.js";

const ROOT = join(__dirname, "../..");

function tsbpf(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], { encoding: "utf8", cwd: ROOT });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describeKernel("tsbpf explain OBJ[:PROG]", () => {
  itKernel("explains the rejected program of an object and says the other one loads", () => {
    const r = tsbpf("explain", join(ROOT, "bpf/bad_access.o"));
    expect(r.code).toBe(1);
    expect(r.out).toContain('program "good_pass": accepted by the verifier');
    expect(r.out).toMatch(/^\.\/bpf\/bad_access\.c:16:9: program "bad_read": packet access without a bounds check \[packet-bounds\]$/m);
    expect(r.out).toContain("    | return data[100]; // no check against data_end");
    expect(r.out).toMatch(/^ {2}fix: compare first, .*data \+ 101 > data_end/m);
  });

  itKernel("OBJ:PROG explains only that program; --json gives the explanation as data", () => {
    const r = tsbpf("explain", `${join(ROOT, "bpf/verifier/ringbuf_leak.o")}:ringbuf_leak`, "--json");
    expect(r.code).toBe(1);
    const [res] = JSON.parse(r.out);
    expect(res).toMatchObject({ program: "ringbuf_leak", loaded: false, explanation: { category: "ringbuf-leak", source: { file: "./bpf/verifier/ringbuf_leak.c", line: 13 } } });
    // --pretty, as on every command, is JSON too (indented, as explain's JSON always is)
    const pretty = tsbpf("explain", `${join(ROOT, "bpf/verifier/ringbuf_leak.o")}:ringbuf_leak`, "--pretty");
    expect([pretty.code, pretty.out]).toEqual([1, r.out]);
  });

  itKernel("exits 0 when every program loads", () => {
    const r = tsbpf("explain", join(ROOT, "bpf/global_data.o"));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/accepted by the verifier/);
  });
});

describeKernel("tsbpf explain --log FILE [--object OBJ]", () => {
  itKernel("explains a saved log, with columns and the object's source text when the object is given", () => {
    const error = rejectionOf("null_map_value");
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-explain-"));
    try {
      const log = join(dir, "verifier.log");
      writeFileSync(log, error.log.join("\n"));
      const alone = tsbpf("explain", "--log", log);
      expect(alone.code).toBe(1);
      expect(alone.out).toMatch(/^null_map_value\.c:17: log: possibly-NULL pointer dereferenced \[null-map-value\]$/m);
      const withObject = tsbpf("explain", "--log", log, "--object", join(ROOT, "bpf/verifier/null_map_value.o"));
      expect(withObject.code).toBe(1);
      expect(withObject.out).toMatch(/^\.\/bpf\/verifier\/null_map_value\.c:17:5: program "null_map_value": possibly-NULL pointer dereferenced/m);
      expect(withObject.out).toContain("  fix: check it first");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("tsbpf explain usage", () => {
  it("refuses unknown options and missing values with exit 2", () => {
    expect(tsbpf("explain", "--bogus").code).toBe(2);
    expect(tsbpf("explain", "--log").code).toBe(2);
    expect(tsbpf("explain").code).toBe(2);
  });

  it("a log with no error exits 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-explain-"));
    try {
      const log = join(dir, "ok.log");
      writeFileSync(log, "0: R1=ctx() R10=fp0\n0: (b7) r0 = 2 ; R0=2\n1: (95) exit\nprocessed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n");
      const r = tsbpf("explain", "--log", log);
      expect(r.code).toBe(0);
      expect(r.out).toContain("the log shows no error");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
