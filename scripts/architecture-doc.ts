/** Rewrite the rank table of docs/architecture.md from test/helpers/layers.ts (`npm run docs:architecture`). */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withRenderedLayers } from "../test/helpers/layers.js";

const path = join(import.meta.dirname, "../docs/architecture.md");
writeFileSync(path, withRenderedLayers(readFileSync(path, "utf8")));
