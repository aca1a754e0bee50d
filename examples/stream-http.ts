/**
 * A tracer as a user writes one: `for await` over a ring buffer, and an HTTP endpoint in the
 * same process that reports what was counted. Run as root: `npx tsx examples/stream-http.ts`.
 *
 * The events come from bpf/readers/stream.o (a tracepoint on getppid(2), one 16-byte record per
 * call of one process) and a child process that calls getppid(2) as fast as it can for
 * SECONDS. Meanwhile another child asks the endpoint on 127.0.0.1 every 20 ms and times each
 * answer. At the end it prints the records received, those the full ring dropped (counted by
 * the program), and the endpoint's answer times.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { attachTracepoint, Collection, CollectionSpec, RingBufReader } from "../src/index.js";

const SECONDS = Number(process.env.SECONDS ?? 5);

using coll = Collection.load(CollectionSpec.fromFile(new URL("../bpf/readers/stream.o", import.meta.url).pathname));
using reader = new RingBufReader(coll.maps.rb);

let records = 0;
const server = createServer((_req, res) => res.end(JSON.stringify({ records })));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = (server.address() as AddressInfo).port;

// The producer: getppid(2) in a tight loop once it reads a line.
const producer = spawn(process.execPath, ["-e", `process.stdin.once("data", () => { const end = Date.now() + ${SECONDS * 1000}; while (Date.now() < end) for (let i = 0; i < 1000; i++) process.ppid; process.exit(0); });`], { stdio: ["pipe", "ignore", "inherit"] });
coll.maps.config.set(0, producer.pid!);
using link = attachTracepoint(coll.programs.rb_getppid, { category: "syscalls", name: "sys_enter_getppid" });

// The client: one request every 20 ms, each timed from outside this process.
const client = spawn(process.execPath, ["-e", `
  const http = require("node:http");
  const times = [];
  const end = Date.now() + ${SECONDS * 1000};
  (async function loop() {
    while (Date.now() < end) {
      const t0 = performance.now();
      await new Promise((resolve, reject) => http.get("http://127.0.0.1:${port}/", (res) => { res.resume(); res.on("end", resolve); }).on("error", reject));
      times.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log(JSON.stringify(times));
  })();
`], { stdio: ["ignore", "pipe", "inherit"] });
let clientOut = "";
client.stdout.on("data", (d: Buffer) => (clientOut += d.toString()));
const clientDone = new Promise<void>((resolve) => client.on("exit", () => resolve()));

producer.stdin.write("go\n");
producer.on("exit", () => setTimeout(() => reader.close(), 100)); // then take what is left and stop
const started = performance.now();
for await (const bytes of reader) {
  void bytes; // a real tracer decodes the record here
  records++;
}
const seconds = (performance.now() - started) / 1000;
await clientDone;
server.close();
void link;

const times = (JSON.parse(clientOut) as number[]).sort((a, b) => a - b);
const q = (f: number): string => times[Math.min(times.length - 1, Math.floor(times.length * f))].toFixed(1);
const produced = Number(coll.variables.produced.value);
const dropped = Number(coll.variables.dropped.value);
console.log(`records: ${records} in ${seconds.toFixed(1)} s (${Math.round(records / seconds)}/s); produced ${produced}, dropped ${dropped} (${((100 * dropped) / Math.max(1, produced)).toFixed(2)}%)`);
console.log(`HTTP answers: ${times.length}, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`);
