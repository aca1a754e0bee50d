/**
 * Output arrives whole through a slow pipe: the command's stdout is a pipe that nobody reads
 * for a while (a 64 KiB pipe buffer fills at once), then is read to the end. Before the fix,
 * `process.exit()` after the write dropped everything past the first 64 KiB.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { u32, u64 } from "../../src/codec.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { Collection } from "../../src/collection/collection.js";
import { BpfMap } from "../../src/map/bpf-map.js";
import { hasKernelBtf, itKernel, uniqueName } from "../helpers/kernel.js";
import { cli, MAIN, ROOT } from "./run.js";

const PIPE_BUFFER = 64 * 1024;

/**
 * Run tsbpf with stdout on a real pipe (64 KiB) whose reader sleeps `delayMs` before reading,
 * as `tsbpf … | (sleep 0.7; cat)` does. (Node's own stdio 'pipe' is a socketpair whose buffer
 * can hold the whole output, and Node drops the unread part of a paused one when the child
 * exits, so it cannot stand in for a slow pipe.)
 */
function throughSlowPipe(args: string[], delayMs = 700): Promise<{ code: number | null; out: Buffer; err: string }> {
  return new Promise((resolve, reject) => {
    const script = `set -o pipefail; "$0" --import tsx "$@" | (sleep ${delayMs / 1000}; cat)`;
    const child = spawn("bash", ["-c", script, process.execPath, MAIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    child.stderr.on("data", (d) => (err += String(d)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out: Buffer.concat(chunks), err }));
  });
}

async function expectWhole(args: string[]): Promise<void> {
  const expected = await cli(...args);
  expect(expected.code, expected.err).toBe(0);
  expect(Buffer.byteLength(expected.out)).toBeGreaterThan(PIPE_BUFFER);
  const r = await throughSlowPipe(args);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out.length).toBe(Buffer.byteLength(expected.out));
  expect(r.out.toString("utf8")).toBe(expected.out);
}

describe("output through a slow pipe arrives whole", () => {
  it("disasm of a big object", async () => {
    await expectWhole(["disasm", join(ROOT, "bpf/cli/big_listing.o")]);
  }, 60_000);

  it.skipIf(!hasKernelBtf)("btf dump of vmlinux as C (2.7 MB)", async () => {
    await expectWhole(["btf", "dump", "/sys/kernel/btf/vmlinux", "--format", "c"]);
  }, 60_000);

  it.skipIf(!hasKernelBtf)("btf dump of vmlinux as raw text", async () => {
    await expectWhole(["btf", "dump", "/sys/kernel/btf/vmlinux"]);
  }, 60_000);

  itKernel("map dump of a map with 5000 entries, and prog dump xlated and jited of a program of 9000 instructions", async () => {
    using m = BpfMap.create({ name: "cli_pipe", type: "hash", key: u32, value: u64, maxEntries: 5000 });
    for (let i = 0; i < 5000; i++) m.set(i, BigInt(i) * 3n);
    await expectWhole(["map", "dump", String(m.id), "--json"]);
    await expectWhole(["map", "dump", String(m.id)]);
    using coll = Collection.load(CollectionSpec.fromFile(join(ROOT, "bpf/cli/big_listing.o")));
    const dir = `/sys/fs/bpf/${uniqueName("clipipe")}`;
    try {
      coll.programs.big_listing.pin(dir);
      await expectWhole(["prog", "dump", "xlated", "pinned", dir]);
      await expectWhole(["prog", "dump", "jited", "pinned", dir]);
    } finally {
      rmSync(dir, { force: true });
    }
  }, 120_000);
});
