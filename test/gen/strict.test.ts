/**
 * Generated code type-checks under `--strict --noUncheckedIndexedAccess
 * --exactOptionalPropertyTypes` against tsbpf's published declarations: the golden bindings, the
 * type tests (test/gen/types.check.ts: each @ts-expect-error must be an error), the users' code
 * of the scenarios, and fresh bindings of every object in bpf/.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { generateBindings } from "../../src/gen/generate.js";
import { tsBlocks } from "../helpers/docs.js";
import { hasKernelBtf, hasTool } from "../helpers/kernel.js";
import { bpfObjects } from "./cases.js";
import { corpusSources, genCorpus } from "./corpus.js";

const TSC = resolve("node_modules/.bin/tsc");

function tsc(args: string[]): string {
  try {
    execFileSync(TSC, args, { stdio: "pipe" });
    return "";
  } catch (e) {
    return String((e as { stdout?: Buffer }).stdout ?? e);
  }
}

/**
 * User code over the corpus's bindings (written beside them): right uses compile, and each
 * `@ts-expect-error` must be an error (tsc reports one that is not).
 */
const CORPUS_USER = `
import { Program } from "tsbpf";
import { load as loadReadline, type LineEvent } from "./readline.js";
import { load as loadTenants, type Policy } from "./tenants.js";
import { load as loadDispatch } from "./dispatch.js";
import { loadSpec as procSpec, type ProcstatEvent } from "./procstat.js";
import { OpenResult, load as loadAudit, type OpenEvent, type OpenResultName } from "./fileaudit.js";
import { load as loadPkt } from "./pktstat.js";
import { load as loadTcp, ConnKind } from "./tcpconn.js";

export async function use(): Promise<void> {
  using r = loadReadline();
  // a bare uretprobe needs the binary and the symbol; the one whose section names them needs nothing
  using links = r.attachAll({ any_readline: { path: "/bin/bash", symbol: "readline" }, bash_readline: {} });
  void links;
  // @ts-expect-error a bare uretprobe's options without the binary
  r.attachAll({ any_readline: { symbol: "readline" } });
  for await (const e of r.perfBuf("lines", "line_event")) if (e.type === "sample") { const l: LineEvent = e.record; const s: string = l.line; void s; }

  using t = loadTenants();
  t.setInnerMap("by_cgroup", 42n, t.maps.default_policy);
  const p: Policy | undefined = t.maps.default_policy.get({ addr: 1, port: 80, proto: 6, pad: 0 });
  void p;
  // @ts-expect-error by_cgroup holds policy tables, not per-CPU counters
  t.setInnerMap("by_cgroup", 42n, t.maps.counters);
  // @ts-expect-error by_cgroup is keyed by a cgroup id (u64: bigint)
  t.setInnerMap("by_cgroup", 42, t.maps.default_policy);

  using d = loadDispatch();
  d.setProgram("plugins", new Uint8Array(4), d.programs.handle_ipv4);
  d.setProgram("handlers", 0, d.programs.handle_ipv6);
  // @ts-expect-error a prog array holds programs
  d.setProgram("handlers", 0, d.maps.hits);
  using pk = loadPkt();
  // xdp needs an interface, tc an interface and a direction, tcx (its direction in the section) an interface
  using pl = pk.attachAll({ xdp_count: { interface: "lo" }, tc_egress: { interface: "lo", direction: "egress" }, tcx_in: { interface: "lo" } });
  void pl;
  // @ts-expect-error tc needs a direction too
  pk.attachAll({ tc_egress: { interface: "lo" } });
  const perCpu: Array<{ packets: bigint }> | undefined = pk.maps.flows.get({ saddr: 1, daddr: 2, proto: 6, dir: 0, pad: 0 });
  void perCpu;

  const spec = procSpec();
  spec.variables.min_duration_ns.value = 1_000_000n;
  using proc = spec.load();
  for await (const e of proc.ringBuf("rb", "procstat_event")) { const ev: ProcstatEvent = e; const exited: boolean = ev.exit_event; void exited; }
  // @ts-expect-error .rodata is read-only once loaded
  proc.variables.min_duration_ns.value = 0n;

  using a = loadAudit();
  const reader = a.ringBuf("opens", "open_event");
  const ev: OpenEvent | undefined = await reader.read();
  if (ev && ev.result === OpenResult.OPEN_DENIED) { const n: OpenResultName = "OPEN_DENIED"; void n; }
  const pid: number = a.variables.filter.value.pid;
  void pid;
  // @ts-expect-error a misspelled enumerator
  void OpenResult.OPEN_DENY;
  using tcp = loadTcp();
  const kind: 4 = ConnKind.CONN_V4;
  void [kind, tcp.programs.tcp_v4_connect satisfies Program<"kprobe">];
}
`;

it("generated code type-checks under the strictest flags, and the type tests fail where they must", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-gen-strict-"));
  try {
    // tsbpf's declarations, as the package publishes them (d.ts only: skipLibCheck applies).
    const decl = join(dir, "decl");
    const emitted = tsc([
      "--declaration", "--emitDeclarationOnly", "--outDir", decl, "--rootDir", "src", "--target", "ES2022", "--module", "ESNext",
      "--moduleResolution", "Bundler", "--lib", "ES2023,ESNext.Disposable", "--types", "node", "--strict", "--skipLibCheck",
      "--isolatedModules", "src/index.ts",
    ]);
    expect(emitted).toBe("");
    // fresh bindings of every object in bpf/, importing "tsbpf" as users do
    const fresh = join(dir, "fresh");
    mkdirSync(fresh);
    const objects = bpfObjects();
    for (const o of objects) {
      const bytes = readFileSync(o);
      const name = o.replace(/^bpf\//, "").replace(/\.o$/, "").replace(/\W/g, "_");
      const spec = CollectionSpec.fromBytes(bytes, { name: o.split("/").pop()!.split(".")[0]! });
      writeFileSync(join(fresh, `${name}.ts`), generateBindings(spec, bytes, { objectPath: o }));
    }
    // a sidecar module too (its __dirname / import.meta.url lookup must type-check as ESM)
    const side = readFileSync("test/gen/golden/opensnoop_rb.o");
    writeFileSync(join(fresh, "sidecar.ts"), generateBindings(CollectionSpec.fromBytes(side, { name: "opensnoop_rb" }), side, { objectPath: "opensnoop_rb.o", objectSource: { kind: "sidecar", path: "./opensnoop_rb.o" } }));
    // the corpus (bcc libbpf-tools / libbpf-bootstrap style programs compiled here), when clang-19 and kernel BTF are at hand
    const corpusDir = join(dir, "corpus");
    mkdirSync(corpusDir);
    const corpus = hasTool("clang-19") && hasKernelBtf ? await genCorpus(corpusDir) : [];
    if (corpus.length) {
      expect(corpus.length).toBe(corpusSources().length);
      expect(corpus.length).toBeGreaterThanOrEqual(12);
      writeFileSync(join(corpusDir, "user.ts"), CORPUS_USER);
      corpus.push(join(corpusDir, "user.ts"));
    }
    const here = resolve("test/gen");
    // docs/gen.md's maps-of-maps example, over the kinds bindings it describes
    const docBlock = tsBlocks("docs/gen.md").find((b) => b.includes("setInnerMap"));
    expect(docBlock).toBeDefined();
    writeFileSync(join(fresh, "doc_maps_of_maps.ts"), `import type { Kinds } from ${JSON.stringify(join(here, "golden/kinds.js"))};\nexport function example(obj: Kinds): void {\n${docBlock}}\n`);
    const files = [
      ...readdirSync(join(here, "golden")).filter((f) => f.endsWith(".ts")).map((f) => join(here, "golden", f)),
      join(here, "types.check.ts"),
      ...readdirSync(join(here, "users")).map((f) => join(here, "users", f)),
      ...readdirSync(fresh).map((f) => join(fresh, f)),
      ...corpus,
    ];
    const config = {
      compilerOptions: {
        target: "ES2022", module: "ESNext", moduleResolution: "Bundler", lib: ["ES2023", "ESNext.Disposable"], types: ["node"],
        typeRoots: [resolve("node_modules/@types")],
        strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noImplicitOverride: true,
        skipLibCheck: true, isolatedModules: true, noEmit: true,
        paths: { tsbpf: [join(decl, "index.d.ts")] },
      },
      files,
    };
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(config, null, 2));
    expect(tsc(["-p", join(dir, "tsconfig.json")])).toBe("");
    expect(objects.length).toBeGreaterThan(25);

    // the type tests bite: without their @ts-expect-error comments, each line is an error
    const bare = readFileSync(join(here, "types.check.ts"), "utf8").replace(/\/\/ @ts-expect-error.*$/gm, "// (expect error)");
    const expected = (bare.match(/\(expect error\)/g) ?? []).length;
    writeFileSync(join(here, "types.bare.check.ts"), bare);
    try {
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ ...config, files: [join(here, "types.bare.check.ts")] }, null, 2));
      const out = tsc(["-p", join(dir, "tsconfig.json")]);
      const errorLines = new Set([...out.matchAll(/types\.bare\.check\.ts\((\d+),/g)].map((m) => m[1]));
      expect(errorLines.size).toBe(expected);
    } finally {
      rmSync(join(here, "types.bare.check.ts"), { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
