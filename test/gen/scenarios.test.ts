/**
 * Scenarios over generated bindings, against the kernel: the user code lives in test/gen/users/
 * (no `as`, `!` or `any`; strict.test.ts compiles it under the strictest flags), this file only
 * runs it and checks what it saw.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/collection.js";
import { CollectionSpec } from "../../src/elf/collection-spec.js";
import { possibleCpus } from "../../src/map/possible-cpus.js";
import { describeKernel, itKernel } from "../helpers/kernel.js";
import { VethEnv } from "../link/net-env.js";
import { attachWithoutInterface, loadOnlyCount, runKinds, specDefaults } from "./users/kinds.js";
import { traceOwnOpen } from "./users/opensnoop.js";
import { load, loadSpec } from "./golden/kinds.js";

describe("generated spec (no kernel)", () => {
  it("reads variables typed from the embedded object, and checks the object", () => {
    expect(specDefaults()).toEqual({ threshold: 100n, verdict: 0, greeting: "hi", counters: [1, 2, 3, 4] });
    const spec = loadSpec();
    spec.variables.greeting.value = "hey";
    expect(spec.variables.greeting.value).toBe("hey");
    expect(() => {
      spec.variables.greeting.value = "far too long";
    }).toThrow('variable "greeting": char[8]: 12 bytes of UTF-8 do not fit in 8');
    expect(Object.keys(spec.variables)).not.toContain("__tsbpf_type_alert"); // present in the object, not in the types
  });
});

describeKernel("generated bindings against the kernel", () => {
  itKernel("opensnoop: tracepoint → ring buffer, events decoded as struct event", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-gen-open-"));
    try {
      const path = join(dir, "hello.txt");
      writeFileSync(path, "x");
      const { event, dropped } = await traceOwnOpen(path);
      expect(event).toBeDefined();
      expect(event?.filename).toBe(path);
      expect(event?.pid).toBe(process.pid);
      expect(typeof event?.comm).toBe("string");
      expect(event?.comm.length).toBeGreaterThan(0);
      expect(event?.ts_ns).toBeGreaterThan(0n);
      expect(dropped).toBe(0n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  itKernel("XDP on a veth in a netns, struct keys, per-CPU, queue, sockhash, variables", () => {
    using env = new VethEnv();
    const r = runKinds(env.ifB, env.b.name, () => env.sendUdp(5));
    expect(r.sent).toBe(5);
    expect(r.countersBefore).toBe(1);
    expect(r.countersAfter).toBeGreaterThanOrEqual(1 + 5); // the XDP program counts every packet
    expect(r.stats).toMatchObject({ packets: 41n, label: "web", small: 5, big_bits: 0xfffff, wide: 1n << 39n, seen: true, verdict: 1, ports: [80, 443, 0, 0], range: { lo: -1, hi: 1 } });
    expect(r.stats?.as_u32).toBe(0x01020304); // the union's first member was written
    expect(r.perCpu).toEqual(new Array(possibleCpus()).fill(0n));
    expect(r.popped).toEqual({ a: 1, b: 2 });
    expect(r.sock).toBeUndefined(); // a struct key, encoded from BTF
    expect(r.threshold).toBe(1_000_000n);
    expect(r.greeting).toBe("hello");
    expect(r.attached).toEqual(["count", "on_getpid"]); // the XDP program with the interface attachAll was given
    const u32 = (b: Uint8Array | undefined) => (b === undefined ? undefined : new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true));
    expect(r.innerBefore).toBeUndefined();
    expect(u32(r.innerIds[0])).toBe(r.innerIds[1]); // setInnerMap put inner_a's fd; the kernel reports its id
    expect(u32(r.progIds[0])).toBe(r.progIds[1]);
    expect(attachWithoutInterface()).toEqual(["on_getpid"]); // the XDP program needs an interface: left out, as libbpf's skeleton does
    expect(loadOnlyCount()).toBe(true);
  });

  itKernel("setInnerMap and setProgram refuse, by name, what a caller without the types may pass", () => {
    using obj = load();
    // (casts: a JavaScript caller, or one that widened the types, can pass anything)
    expect(() => obj.setInnerMap("flows" as "outer", 0, obj.maps.inner_a)).toThrow('setInnerMap: map "flows" (hash) is not array_of_maps or hash_of_maps');
    expect(() => obj.setProgram("outer" as "jumps", 0, obj.programs.count)).toThrow('setProgram: map "outer" (array_of_maps) is not prog_array');
    expect(() => obj.setInnerMap("outer", 1, {} as typeof obj.maps.inner_a)).toThrow('setInnerMap: map "outer": the inner map: expected an open map or program (an object with an fd), got object');
    expect(() => obj.setProgram("jumps", 0, null as unknown as typeof obj.programs.count)).toThrow("got null");
    expect(() => obj.setProgram("nope" as "jumps", 0, obj.programs.count)).toThrow('no map "nope"');
    expect(obj.maps.outer.get(1)).toBeUndefined(); // nothing was written (0 holds inner_a from the C)
  });

  itKernel("codec errors name the map, the side, the struct and the member (without generation too)", () => {
    using coll = Collection.load(CollectionSpec.fromFile("test/gen/golden/kinds.o"));
    const flows = coll.maps.flows;
    expect(() => flows.get({ addr: 1, port: 2, proto: 3 })).toThrow('map "flows": key: struct flow_key: missing member "pad"');
    expect(() => coll.maps.socks.get({ addr: 1, port: 2, proto: 3, pad: 0, x: 1 })).toThrow('map "socks": key: struct flow_key: unknown member "x"');
    expect(coll.maps.socks.get({ addr: 1, port: 2, proto: 3, pad: 0 })).toBeUndefined(); // sockhash keys from BTF
  });
});
