/** `npm run gen:golden`: rewrite test/gen/golden/ from the cases in cases.ts. */
import { command } from "../../src/cli/gen.js";
import { GOLDEN_CASES } from "./cases.js";

let failed = 0;
for (const c of GOLDEN_CASES) if (command.run(c.args) !== 0) failed++;
process.exit(failed ? 1 : 0);
