import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dumpC } from "../../src/btf/c-dump.js";
import { parseBtfExt } from "../../src/btf/ext.js";
import { kernelBtf } from "../../src/features/kernel-btf.js";
import { marshalBtf } from "../../src/btf/marshal.js";
import { dumpRaw } from "../../src/btf/raw-dump.js";
import { parseBtf } from "../../src/btf/spec.js";
import { hasBpftool } from "./helpers/bpftool-json.js";
import { hasKernelBtf, hasTool } from "../helpers/kernel.js";

const fixturePath = fileURLToPath(new URL("./fixtures/kinds.bpfel.btf", import.meta.url));
const spec = parseBtf(readFileSync(fixturePath));
const hasClang = hasTool("clang-19");
const hasVmlinux = hasKernelBtf;

function clang(dir: string, file: string, extra: string[] = []): string {
  try {
    execFileSync("clang-19", ["-target", "bpf", "-O2", "-g", "-I/usr/include/x86_64-linux-gnu", `-I${dir}`, "-c", join(dir, file), "-o", join(dir, `${file}.o`), ...extra], {
      stdio: "pipe",
    });
    return "";
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e);
  }
}

describe("dumpC on object BTF", () => {
  const h = dumpC(spec);

  it("writes the layout C needs: bitfields, packed, padding, anonymous members, forward declarations", () => {
    expect(h).toContain("#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)");
    expect(h).toContain("struct bits {\n\tunsigned int a: 3;\n\tunsigned int b: 5;\n\tint c: 12;\n\tunsigned long long d: 40;\n\tchar name[16];\n};");
    expect(h).toContain("struct packed {\n\tchar c;\n\tint i;\n\tlong long l;\n} __attribute__((packed));");
    // aligned(16) is not in BTF: the size is kept with trailing padding
    expect(h).toContain("struct aligned16 {\n\tint x;\n\tlong: 32;\n\tlong: 64;\n};");
    expect(h).toContain("typedef int (*callback_t)(void *, int);");
    expect(h).toContain("\tstruct {\n\t\tint anon_x;\n\t\tunion {\n\t\t\tint ax;\n\t\t\tshort ay;\n\t\t};\n\t} anon;");
    expect(h).toContain("struct fwd_only;\n");
    expect(h).toContain("union fwd_union;\n");
    expect(h).toContain("} __attribute__((mode(QI)));");
    expect(h).toContain("\tconst volatile int cv;\n\tint *restrict rp;");
    expect(h).toContain('\tint __attribute__((btf_type_tag("user"))) *up;');
    expect(h).toContain("\tBIG_B = 78187493520ULL,");
    // dependency order: what holder holds by value comes before it
    for (const dep of ["struct bits {", "typedef struct bits bits_t;", "struct packed {", "union value {", "typedef int (*callback_t)"]) {
      expect(h.indexOf(dep)).toBeGreaterThan(-1);
      expect(h.indexOf(dep)).toBeLessThan(h.indexOf("struct holder {"));
    }
    // functions, variables and datasecs are not types a header declares
    expect(h).not.toContain("global_fn");
    expect(h).not.toContain(".bss");
  });

  it.skipIf(!hasClang)("compiles, with every size and offset as BTF says", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-cdump-"));
    try {
      writeFileSync(join(dir, "kinds.h"), h);
      const asserts = ["struct holder", "struct bits", "struct packed", "struct aligned16", "union value"].map((n) => {
        const [kw, name] = n.split(" ");
        const t = spec.typeByName(name, kw as "struct")!;
        return `_Static_assert(sizeof(${n}) == ${t.size}, "${n}");`;
      });
      const holder = spec.typeByName("holder", "struct")!;
      for (const m of holder.members) asserts.push(`_Static_assert(__builtin_offsetof(struct holder, ${m.name}) == ${m.bitOffset / 8}, "${m.name}");`);
      writeFileSync(join(dir, "t.c"), `#include "kinds.h"\n${asserts.join("\n")}\nint use(struct holder *h) { return *h->up; }\n`);
      expect(clang(dir, "t.c")).toBe("");
      // the type tag survives into the BTF of what is built against the header
      execFileSync("llvm-objcopy-19", ["--dump-section", `.BTF=${join(dir, "t.btf")}`, join(dir, "t.c.o")]);
      const built = parseBtf(readFileSync(join(dir, "t.btf")));
      expect([...built.typesOfKind("type_tag")].map((t) => t.name)).toEqual(["user"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("renames clashing names with ___N and breaks pointer loops through typedefs", () => {
    const int = { kind: "int" as const, name: "int", size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 };
    const s = parseBtf(
      marshalBtf([
        int, // 1
        { kind: "struct", name: "dup", size: 4, members: [{ name: "a", type: 1, bitOffset: 0, bitfieldSize: 0 }] }, // 2
        { kind: "struct", name: "dup", size: 8, members: [{ name: "b", type: 1, bitOffset: 32, bitfieldSize: 0 }] }, // 3
        { kind: "typedef", name: "node_t", type: 5 }, // 4
        { kind: "struct", name: "node", size: 16, members: [{ name: "next", type: 6, bitOffset: 0, bitfieldSize: 0 }, { name: "d", type: 3, bitOffset: 64, bitfieldSize: 0 }] }, // 5
        { kind: "ptr", name: "", type: 4 }, // 6
        { kind: "enum", name: "", size: 4, signed: false, values: [{ name: "X", value: 1 }] }, // 7
        { kind: "enum", name: "e2", size: 4, signed: false, values: [{ name: "X", value: 2 }] }, // 8
      ]),
    );
    const out = dumpC(s);
    expect(out).toContain("struct dup {\n\tint a;\n};");
    expect(out).toContain("struct dup___2 {\n\tlong: 32;\n\tint b;\n};");
    expect(out).toContain("\tX___2 = 2,");
    expect(out.indexOf("typedef struct node node_t;")).toBeLessThan(out.indexOf("struct node {"));
    expect(out).toContain("\tnode_t *next;\n\tstruct dup___2 d;");
  });

  it("does not hang on BTF whose types contain themselves", () => {
    const s = parseBtf(marshalBtf([{ kind: "struct", name: "s", size: 4, members: [{ name: "x", type: 2, bitOffset: 0, bitfieldSize: 0 }] }, { kind: "const", name: "", type: 1 }]));
    expect(() => dumpC(s)).toThrow(/nests too deeply \(loop\?\)/); // a struct inside itself has no layout
    const loop = parseBtf(marshalBtf([{ kind: "ptr", name: "", type: 2 }, { kind: "const", name: "", type: 1 }, { kind: "typedef", name: "t", type: 1 }]));
    expect(() => dumpC(loop)).toThrow(/loop/);
  });
});

describe.skipIf(!hasVmlinux || !hasClang)("vmlinux.h from this kernel", () => {
  let dir: string;
  let header: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tsbpf-vmlinux-"));
    header = dumpC(kernelBtf());
    writeFileSync(join(dir, "vmlinux.h"), header);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("compiles with clang-19 -target bpf, every struct and member where BTF puts it", () => {
    const k = kernelBtf();
    const lines = ['#include "vmlinux.h"'];
    const seen = new Set<string>();
    let checked = 0;
    for (const kind of ["struct", "union"] as const) {
      for (const t of k.typesOfKind(kind)) {
        // renamed duplicates (___N) and va_list holders (void * on the BPF target) are left out
        if (!t.name || seen.has(t.name)) continue;
        seen.add(t.name);
        if (k.idsByName(t.name).length > 1) continue;
        if (t.members.some((m) => k.nameOf(m.type) === "va_list")) continue;
        lines.push(`_Static_assert(sizeof(${kind} ${t.name}) == ${t.size}, "${t.name}");`);
        for (const m of t.members) {
          if (m.name && !m.bitfieldSize) {
            lines.push(`_Static_assert(__builtin_offsetof(${kind} ${t.name}, ${m.name}) == ${m.bitOffset / 8}, "${t.name}.${m.name}");`);
          }
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(9000);
    writeFileSync(join(dir, "layout.c"), `${lines.join("\n")}\n`);
    expect(clang(dir, "layout.c")).toBe("");
  }, 120_000);

  it("builds a CO-RE program whose relocations name kernel types", () => {
    writeFileSync(
      join(dir, "core.c"),
      `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next) {
  pid_t pid = BPF_CORE_READ(next, pid);
  int has = bpf_core_field_exists(prev->tgid);
  unsigned long long fsz = bpf_core_field_size(struct file, f_flags);
  return pid + has + (int)fsz;
}
char LICENSE[] SEC("license") = "GPL";
`,
    );
    expect(clang(dir, "core.c")).toBe("");
    execFileSync("llvm-objcopy-19", ["--dump-section", `.BTF=${join(dir, "core.btf")}`, "--dump-section", `.BTF.ext=${join(dir, "core.btf.ext")}`, join(dir, "core.c.o")]);
    const btf = parseBtf(readFileSync(join(dir, "core.btf")));
    const ext = parseBtfExt(readFileSync(join(dir, "core.btf.ext")), btf);
    const relos = [...ext.coreRelos.values()].flat();
    const described = relos.map((r) => `${r.kind} ${btf.nameOf(r.typeId)}`);
    expect(described).toContain("field_byte_offset task_struct");
    expect(described).toContain("field_exists task_struct");
    expect(described).toContain("field_byte_size file");
  });

  it.skipIf(!hasBpftool)("defines the same named types as bpftool's vmlinux.h", () => {
    const theirs = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"], { maxBuffer: 1 << 30 }).toString();
    const defs = (h: string) => {
      const names = (re: RegExp) => [...h.matchAll(re)].map((m) => m[1]).sort();
      return {
        structs: names(/^struct (\w+) \{/gm),
        unions: names(/^union (\w+) \{/gm),
        enums: names(/^enum (\w+) \{/gm),
        anonEnums: (h.match(/^enum \{/gm) ?? []).length,
      };
    };
    expect(defs(header)).toEqual(defs(theirs));
  });

  it.skipIf(!hasBpftool)("prints raw BTF exactly as bpftool does", () => {
    const theirs = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux"], { maxBuffer: 1 << 30 }).toString();
    const ours = dumpRaw(kernelBtf());
    expect(ours.length).toBe(theirs.length);
    expect(ours === theirs).toBe(true);
  });
});
