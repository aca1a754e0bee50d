// lsm-audit: an LSM program on file_open. Usage: npm run example -- lsm-audit [--duration S]
import { parseArgs } from "node:util";
import { load } from "./lsm_audit.bpf.js";

const { values } = parseArgs({ options: { duration: { type: "string", default: "1" } } });
let obj;
try {
  obj = load();
} catch (err) {
  if (!(err instanceof Error) || !err.message.includes("EPERM")) throw err;
  console.log(`lsm-audit: this machine refuses LSM programs: ${err.message.split("\n")[0]}`);
  process.exit(0);
}
using o = obj;
using _links = o.attachAll();
await new Promise((r) => setTimeout(r, Number(values.duration) * 1000));
console.log(`file opens seen: ${o.variables.opens.value}`);
