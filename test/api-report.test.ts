/**
 * The committed API report (api/tsbpf.api.md) is what the package exports today: a change of
 * the public API fails here until `npm run api:report` rewrites the report in the same commit.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderApiReport } from "../scripts/api-report.js";

describe("API report", () => {
  it("api/tsbpf.api.md matches the exports of src/index.ts (npm run api:report rewrites it)", () => {
    const committed = readFileSync(join(__dirname, "../api/tsbpf.api.md"), "utf8");
    const now = renderApiReport();
    expect(now).toContain("- class `Collection`:");
    expect(now).not.toContain("`prepareCore`");
    expect(now).toBe(committed);
  }, 120_000);
});
