import { defineConfig } from "tsup";

// koffi ships a native module per platform: it must be resolved at run time, never bundled.
const external = ["koffi"];
// No source maps in the package: they were 4 MB of the 6.5 MB unpacked, and no user steps
// into a bundle they did not build.
const common = { sourcemap: false, target: "node20", external } as const;

export default defineConfig([
  {
    // ESM: the library and the `tsbpf` command share their chunks (the CLI loads commands lazily).
    ...common,
    entry: { index: "src/index.ts", cli: "src/cli/main.ts" },
    format: ["esm"],
    dts: { entry: { index: "src/index.ts" } },
    clean: true,
  },
  {
    // CJS: the library only (the bin is ESM; a CJS copy of the CLI went unused).
    ...common,
    entry: { index: "src/index.ts" },
    format: ["cjs"],
    dts: { entry: { index: "src/index.ts" } },
    clean: false,
  },
]);
