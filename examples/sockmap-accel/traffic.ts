// The measured traffic of sockmap-accel, run as a child process inside the example's cgroup (so
// its sockets meet the sockops program): a bulk transfer for throughput and a ping-pong for round
// trips, both between two TCP sockets on 127.0.0.1. Prints one JSON line (a TrafficResult).
// Usage: node --import tsx traffic.ts <megabytes> <rounds>
import { createHash } from "node:crypto";
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

export interface TrafficResult {
  /** Bulk transfer, MB (10^6 bytes) per second, sender's first write to receiver's last byte. */
  throughputMBps: number;
  /** Ping-pong round trips of a 64-byte message, microseconds. */
  rttP50us: number;
  rttP99us: number;
  /** The receiver got exactly the bytes sent (sha256), and every echo matched its ping. */
  intact: boolean;
}

/** The child's JSON line, checked field by field (it crosses a process boundary untyped). */
export function parseTrafficResult(json: string): TrafficResult {
  const v: unknown = JSON.parse(json);
  if (typeof v !== "object" || v === null) throw new Error(`sockmap-accel: traffic printed ${json}`);
  const num = (k: string) => {
    const x: unknown = Reflect.get(v, k);
    if (typeof x !== "number" || !Number.isFinite(x)) throw new Error(`sockmap-accel: traffic result has no number ${k}: ${json}`);
    return x;
  };
  const intact: unknown = Reflect.get(v, "intact");
  if (typeof intact !== "boolean") throw new Error(`sockmap-accel: traffic result has no boolean intact: ${json}`);
  return { throughputMBps: num("throughputMBps"), rttP50us: num("rttP50us"), rttP99us: num("rttP99us"), intact };
}

const CHUNK = 64 * 1024;
const PING = 64;

function listen(onConnection: (s: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function portOf(server: Server): number {
  const a: AddressInfo | string | null = server.address();
  if (a === null || typeof a === "string") throw new Error("server has no TCP address");
  return a.port;
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", noDelay: true }, () => resolve(s));
    s.once("error", reject);
  });
}

/** A deterministic pattern, so the receiver can check what arrived. */
function chunk(i: number): Buffer {
  const b = Buffer.alloc(CHUNK);
  for (let j = 0; j < CHUNK; j += 4) b.writeUInt32LE((i * 2654435761 + j) >>> 0, j);
  return b;
}

async function bulk(megabytes: number): Promise<{ mbps: number; intact: boolean }> {
  const total = Math.ceil((megabytes * 1e6) / CHUNK) * CHUNK;
  const sent = createHash("sha256");
  const got = createHash("sha256");
  let received = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const server = await listen((s) =>
    s.on("data", (d: Buffer) => {
      got.update(d);
      received += d.length;
      if (received >= total) done();
    }),
  );
  const client = await dial(portOf(server));
  const chunks = [chunk(0), chunk(1), chunk(2), chunk(3)];
  const t0 = process.hrtime.bigint();
  for (let off = 0, i = 0; off < total; off += CHUNK, i++) {
    const c = chunks[i % chunks.length] ?? chunk(i);
    sent.update(c);
    if (!client.write(c)) await new Promise((r) => client.once("drain", r));
  }
  await finished;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  client.destroy();
  server.close();
  return { mbps: total / 1e6 / seconds, intact: received === total && sent.digest("hex") === got.digest("hex") };
}

async function pingPong(rounds: number): Promise<{ p50: number; p99: number; intact: boolean }> {
  const server = await listen((s) => {
    s.setNoDelay(true);
    s.on("data", (d: Buffer) => s.write(d));
  });
  const client = await dial(portOf(server));
  let pending: Buffer = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  client.on("data", (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    if (pending.length >= PING) wake?.();
  });
  const rtts: number[] = [];
  let intact = true;
  const warmup = Math.min(100, rounds);
  for (let i = 0; i < rounds + warmup; i++) {
    const ping = Buffer.alloc(PING, i & 0xff);
    const back = new Promise<void>((r) => (wake = r));
    const t0 = process.hrtime.bigint();
    client.write(ping);
    await back;
    const dt = Number(process.hrtime.bigint() - t0) / 1e3;
    if (!pending.subarray(0, PING).equals(ping)) intact = false;
    pending = pending.subarray(PING);
    if (i >= warmup) rtts.push(dt);
  }
  client.destroy();
  server.close();
  rtts.sort((a, b) => a - b);
  const at = (q: number) => rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), intact };
}

export async function measure(megabytes: number, rounds: number): Promise<TrafficResult> {
  const b = await bulk(megabytes);
  const p = await pingPong(rounds);
  return { throughputMBps: b.mbps, rttP50us: p.p50, rttP99us: p.p99, intact: b.intact && p.intact };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mb = "64", rounds = "2000"] = process.argv.slice(2);
  console.log(JSON.stringify(await measure(Number(mb), Number(rounds))));
}
