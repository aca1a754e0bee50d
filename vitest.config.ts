import { defineConfig } from "vitest/config";

export default defineConfig({
  // Modules written by `tsbpf gen` import "tsbpf", docs import its subpaths: in this repository
  // `tsbpf` is src/index.ts and `tsbpf/<name>` is src/subpaths/<name>.ts.
  resolve: {
    alias: [
      { find: /^tsbpf$/, replacement: new URL("./src/index.ts", import.meta.url).pathname },
      { find: /^tsbpf\/(asm|btf|elf)$/, replacement: new URL("./src/subpaths/", import.meta.url).pathname + "$1.ts" },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    // Fixed fast-check seed for every property (TSBPF_FC_SEED overrides).
    setupFiles: ["test/helpers/fast-check-seed.ts"],
    // Under TSBPF_REQUIRE_KERNEL=1 a skipped test fails the run.
    reporters: ["default", "./test/helpers/no-skips-reporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Kernel tests hold fds and network namespaces: forks isolate them per file.
    pool: "forks",
  },
});
