/** Every command and subcommand answers --help with a description and exit 0; usage errors exit 2. */
import { describe, expect, it } from "vitest";
import type { Command } from "../../src/cli/command.js";
import { COMMANDS } from "../../src/cli/main.js";
import { cli, spawnCli, STACK_LINE } from "./run.js";

/** Every command path in the registry, subcommands included. */
async function allPaths(): Promise<{ path: string[]; cmd: Command }[]> {
  const out: { path: string[]; cmd: Command }[] = [];
  const walk = (path: string[], cmd: Command) => {
    out.push({ path, cmd });
    for (const [name, sub] of Object.entries(cmd.subcommands ?? {})) walk([...path, name], sub);
  };
  for (const [name, entry] of Object.entries(COMMANDS)) walk([name], await entry.load());
  return out;
}

describe("tsbpf --help", () => {
  it("lists every command with its description, exit 0", async () => {
    const r = await cli("--help");
    expect(r.code).toBe(0);
    for (const [name, e] of Object.entries(COMMANDS)) expect(r.out).toMatch(new RegExp(`^  ${name} +${e.summary.replace(/[()]/g, "\\$&")}$`, "m"));
    expect(r.out).toContain("exit codes: 0 success, 1 the operation failed, 2 bad usage.");
  });

  it("answers --help and -h on every command and subcommand with its usage and description, exit 0", async () => {
    const paths = await allPaths();
    expect(paths.length).toBeGreaterThan(50);
    for (const { path, cmd } of paths) {
      for (const flag of ["--help", "-h"]) {
        const r = await cli(...path, flag);
        expect(r.code, `${path.join(" ")} ${flag}`).toBe(0);
        expect(r.err).toBe("");
        expect(r.out.split("\n")[0]).toMatch(new RegExp(`^usage: tsbpf ${path.join(" ")}\\b`));
        expect(cmd.summary.length).toBeGreaterThan(10);
        expect(r.out).toContain(cmd.summary.slice(1));
        for (const name of Object.keys(cmd.options ?? {})) expect(r.out).toContain(`--${name}`);
      }
    }
  });

  // These four parse their own arguments; their --help must still name every option their parser
  // takes (the lists below are the parsers' flags: src/cli/{gen,bench,explain,feature}.ts).
  it.each([
    ["gen", ["--out", "-o", "--name", "--type", "--embed", "--sidecar", "--import", "--check", "--json", "-j", "--pretty", "-p", "--cc"]],
    ["bench", ["--vs", "--pcap", "--packet", "--rounds", "--repeat", "--warmup", "--cpu", "--level", "--seed", "--ingress-ifindex", "--json", "-j", "--pretty", "-p", "--markdown", "--fail-if-slower", "--baseline", "--update-baseline", "--threshold", "--cost", "--live", "--id", "--pin", "--seconds"]],
    ["explain", ["--log", "--object", "--json", "-j", "--pretty", "-p"]],
    ["feature", ["--json", "-j", "--pretty", "-p"]],
  ])("%s --help describes each option its own parser takes", async (name, flags) => {
    const r = await cli(name, "--help");
    expect(r.code).toBe(0);
    const options = r.out.split("\n\nglobal options:")[0].split("\noptions:\n")[1] ?? "";
    const listed = new Set([...options.matchAll(/^ {2}(?:(-\w), )? {0,4}(--[\w-]+)(?: \S+)? {2,}\S/gm)].flatMap((m) => [m[1], m[2]].filter(Boolean)));
    expect([...listed].sort()).toEqual([...flags].sort());
  });

  it("--version prints the package version, exit 0 (also as JSON)", async () => {
    const { version } = (await import("../../package.json", { with: { type: "json" } })).default as { version: string };
    expect(await cli("--version")).toEqual({ code: 0, out: `tsbpf v${version}\n`, err: "" });
    expect(JSON.parse((await cli("-V", "-j")).out)).toEqual({ name: "tsbpf", version });
  });

  it.each([
    [["frobnicate"], /^tsbpf: unknown command "frobnicate"/],
    [["map"], /^tsbpf map: missing subcommand/],
    [["map", "frobnicate"], /^tsbpf map: unknown subcommand "frobnicate"/],
    [["map", "list", "--yaml"], /^tsbpf map list: Unknown option '--yaml' \(usage: tsbpf map list\)/],
    [["map", "dump"], /^tsbpf map dump: missing <map>/],
    [["prog", "show", "bogus", "x"], /^tsbpf prog show: "bogus" is not a program/],
    [["btf", "dump", "x", "--format", "json"], /^tsbpf btf dump: --format is c or raw, not "json"/],
    [["inspect"], /^tsbpf inspect: missing <object.o>/],
  ])("bad usage %j: one line on stderr, exit 2", async (args, message) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(message);
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });

  it("a failure is one line without a stack trace, exit 1; --debug adds the stack", async () => {
    const r = spawnCli("inspect", "/nonexistent/x.o");
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/^tsbpf inspect: ENOENT: no such file or directory/);
    expect(r.err).not.toMatch(STACK_LINE);
    const d = spawnCli("inspect", "/nonexistent/x.o", "--debug");
    expect(d.code).toBe(1);
    expect(d.err).toMatch(STACK_LINE);
  });

  it("takes bpftool's abbreviations (unique prefixes of subcommands)", async () => {
    const r = await cli("btf", "du", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: tsbpf btf dump /);
  });
});
