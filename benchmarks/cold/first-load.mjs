// A fresh process's first open + load + close of the objects named on the command line, through
// the built package (dist/), as a short script does it. Prints the in-process time in ns; the
// import of the package is not in it (the import rows measure that).
// Used by benchmarks/suites/cold.ts; `node benchmarks/cold/first-load.mjs bpf/global_data.o`.
const { CollectionSpec, Collection } = await import(new URL("../../dist/index.js", import.meta.url).href);
const paths = process.argv.slice(2);
const t0 = process.hrtime.bigint();
for (const path of paths) Collection.load(CollectionSpec.fromFile(path)).close();
process.stdout.write(`${process.hrtime.bigint() - t0}\n`);
