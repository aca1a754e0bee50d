/**
 * The public API of the package as reviewed files: for each entry (`tsbpf` and its subpaths),
 * every export with its kind and declared type, sorted, written to api/<name>.api.md
 * (`npm run api:report`). test/api-report.test.ts fails when a committed report differs from
 * what this renders, so every change of the public API shows up in review.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

const ROOT = join(import.meta.dirname, "..");
const ERROR_STATICS = new Set(["captureStackTrace", "prepareStackTrace", "stackTraceLimit", "prototype"]);

/** The package's entries: import specifier, source file under src/, report file under api/. */
export const API_ENTRIES = [
  { specifier: "tsbpf", entry: "index.ts", report: "tsbpf.api.md" },
  { specifier: "tsbpf/asm", entry: "subpaths/asm.ts", report: "tsbpf-asm.api.md" },
  { specifier: "tsbpf/btf", entry: "subpaths/btf.ts", report: "tsbpf-btf.api.md" },
  { specifier: "tsbpf/elf", entry: "subpaths/elf.ts", report: "tsbpf-elf.api.md" },
] as const;

/** Public member names: no `#private` ones, well-known symbols as `[name]` (their ids vary). */
function names(props: readonly ts.Symbol[]): string[] {
  return props
    .map((p) => p.name.replace(/^__@(\w+)@\d+$/, "[$1]"))
    .filter((n) => !n.startsWith("#") && !ERROR_STATICS.has(n))
    .sort();
}

/** The report's text for the entry file `src/<entry>`. */
export function renderApiReport(entry = "index.ts"): string {
  const specifier = API_ENTRIES.find((e) => e.entry === entry)?.specifier ?? "tsbpf";
  const file = join(ROOT, "src", entry);
  const program = ts.createProgram([file], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2023.d.ts", "lib.esnext.disposable.d.ts"],
    types: ["node"],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const module = checker.getSymbolAtLocation(source)!;
  const lines: string[] = [];
  for (const exp of checker.getExportsOfModule(module)) {
    const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
    const decl = sym.declarations?.[0];
    const flags = sym.flags;
    const kind =
      flags & ts.SymbolFlags.Class ? "class" :
      flags & ts.SymbolFlags.Function ? "function" :
      flags & ts.SymbolFlags.Interface ? "interface" :
      flags & ts.SymbolFlags.TypeAlias ? "type" :
      flags & ts.SymbolFlags.Enum ? "enum" :
      flags & ts.SymbolFlags.Variable ? "const" : "namespace";
    let text: string;
    if (kind === "interface" || kind === "type" || kind === "class") {
      const t = checker.getDeclaredTypeOfSymbol(sym);
      const members = names(checker.getPropertiesOfType(t));
      text = kind === "type" ? checker.typeToString(t, undefined, ts.TypeFormatFlags.NoTruncation) : `{ ${members.join("; ")} }`;
      if (kind === "class") {
        const statics = names(checker.getPropertiesOfType(checker.getTypeOfSymbolAtLocation(sym, decl ?? source)));
        if (statics.length) text += ` static { ${statics.join("; ")} }`;
      }
    } else {
      text = checker.typeToString(checker.getTypeOfSymbolAtLocation(sym, decl ?? source), undefined, ts.TypeFormatFlags.NoTruncation);
    }
    // Paths of this checkout (`typeof import("/abs/src/…")`) become relative, so every clone agrees.
    const portable = text.split(`${ROOT}/`).join("./");
    lines.push(`- ${kind} \`${exp.name}\`: \`${portable.replace(/\s+/g, " ")}\``);
  }
  lines.sort();
  return [
    `# API report: \`${specifier}\` (src/${entry})`,
    "",
    "Written by `npm run api:report`; test/api-report.test.ts fails when it is stale. Review every change.",
    "",
    `${lines.length} exports.`,
    "",
    ...lines,
    "",
  ].join("\n");
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  for (const e of API_ENTRIES) writeFileSync(join(ROOT, "api", e.report), renderApiReport(e.entry));
}
