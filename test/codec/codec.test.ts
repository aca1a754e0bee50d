import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  alignOf, array, bool, bytes, checkCodecSize, type Codec, cstring, decodeMany, defaultCodec, f32, f64, objectFd, perCpu,
  s16, s32, s64, s8, struct, u16, u32, u64, u8, unsignedCodecForSize,
} from "../../src/codec.js";

function roundTrip<T>(codec: Codec<T>, value: T, offset = 3): T {
  const buf = new DataView(new ArrayBuffer(codec.size + offset + 5));
  codec.encode(value, buf, offset);
  return codec.decode(buf, offset);
}

/** Encoding `value` throws `error` and leaves the target bytes untouched. */
function rejects<T>(codec: Codec<T>, value: unknown, error: typeof TypeError | typeof RangeError): void {
  const buf = new Uint8Array(codec.size + 8).fill(0xa5);
  expect(() => codec.encode(value as T, new DataView(buf.buffer), 4)).toThrow(error);
  expect(buf.every((b) => b === 0xa5)).toBe(true);
}

const ints = [
  { name: "u8", codec: u8, min: 0, max: 0xff },
  { name: "s8", codec: s8, min: -0x80, max: 0x7f },
  { name: "u16", codec: u16, min: 0, max: 0xffff },
  { name: "s16", codec: s16, min: -0x8000, max: 0x7fff },
  { name: "u32", codec: u32, min: 0, max: 0xffffffff },
  { name: "s32", codec: s32, min: -0x80000000, max: 0x7fffffff },
];

describe("integer codecs", () => {
  it.each(ints)("$name: encode → decode is identity over its whole range", ({ codec, min, max }) => {
    fc.assert(fc.property(fc.integer({ min, max }), fc.nat(16), (v, off) => roundTrip(codec, v, off) === v));
  });

  it.each(ints)("$name: rejects out-of-range, fractional and non-number values before writing", ({ codec, min, max }) => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: max + 1, max: max + 2 ** 33 }), fc.integer({ min: min - 2 ** 33, max: min - 1 })), (v) => {
        rejects(codec, v, RangeError);
      }),
    );
    rejects(codec, 1.5, TypeError);
    rejects(codec, "1", TypeError);
    rejects(codec, 1n, TypeError);
    rejects(codec, undefined, TypeError);
  });

  it("stores numbers in host byte order (little-endian here), as the kernel does", () => {
    const buf = new Uint8Array(4);
    u32.encode(0x01020304, new DataView(buf.buffer), 0);
    expect([...buf]).toEqual([4, 3, 2, 1]);
    s16.encode(-2, new DataView(buf.buffer), 0);
    expect([...buf.subarray(0, 2)]).toEqual([0xfe, 0xff]);
  });
});

describe("64-bit codecs", () => {
  it("u64/s64: encode → decode is identity for every bigint in range", () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => roundTrip(u64, v) === v));
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => roundTrip(s64, v) === v));
  });

  it("accept safe integer numbers, reject out-of-range and other types", () => {
    expect(roundTrip(u64, 42 as unknown as bigint)).toBe(42n);
    expect(roundTrip(s64, -7 as unknown as bigint)).toBe(-7n);
    rejects(u64, -1n, RangeError);
    rejects(u64, 2n ** 64n, RangeError);
    rejects(s64, 2n ** 63n, RangeError);
    rejects(u64, 2 ** 60, TypeError); // not a safe integer: precision already lost
    rejects(u64, 1.5, TypeError);
    rejects(u64, "1", TypeError);
  });
});

describe("float and bool codecs", () => {
  it("f64 is exact, f32 rounds to the nearest float", () => {
    fc.assert(fc.property(fc.double({ noNaN: true }), (v) => Object.is(roundTrip(f64, v), v)));
    fc.assert(fc.property(fc.float({ noNaN: true }), (v) => Object.is(roundTrip(f32, v), v)));
    expect(roundTrip(f32, 0.1)).toBe(Math.fround(0.1));
    expect(Number.isNaN(roundTrip(f64, Number.NaN))).toBe(true);
    rejects(f64, "0", TypeError);
  });

  it("bool is one byte", () => {
    expect(roundTrip(bool, true)).toBe(true);
    expect(roundTrip(bool, false)).toBe(false);
    expect(bool.decode(new DataView(new Uint8Array([7]).buffer), 0)).toBe(true);
    rejects(bool, 1, TypeError);
  });
});

describe("bytes and cstring", () => {
  it("bytes(n): identity for n-byte arrays; the decoded copy does not alias the buffer", () => {
    fc.assert(
      fc.property(fc.nat(64).chain((n) => fc.tuple(fc.constant(n), fc.uint8Array({ minLength: n, maxLength: n }))), ([n, v]) => {
        const c = bytes(n);
        const buf = new DataView(new ArrayBuffer(n + 2));
        c.encode(v, buf, 1);
        const out = c.decode(buf, 1);
        new Uint8Array(buf.buffer).fill(0xee);
        return out.length === n && out.every((b, i) => b === v[i]);
      }),
    );
  });

  it("bytes(n): any other length is a RangeError, other types a TypeError", () => {
    fc.assert(
      fc.property(fc.nat(32), fc.nat(32), (n, m) => {
        fc.pre(n !== m);
        rejects(bytes(n), new Uint8Array(m), RangeError);
      }),
    );
    rejects(bytes(4), [1, 2, 3, 4], TypeError);
    rejects(bytes(4), "abcd", TypeError);
  });

  it("cstring(n): NUL-padded UTF-8 that round-trips when it fits", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }).filter((s) => !s.includes("\0")), (s) => {
        const c = cstring(64);
        return roundTrip(c, s) === s;
      }),
    );
    rejects(cstring(4), "abcd", RangeError);
    rejects(cstring(8), "a\0b", TypeError);
    expect(roundTrip(cstring(4), "abc")).toBe("abc");
  });
});

describe("array", () => {
  it("encode → decode is identity; a wrong length is a RangeError", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 0, maxLength: 20 }), (v) => {
        const c = array(u16, v.length);
        expect(c.size).toBe(v.length * 2);
        expect(roundTrip(c, v)).toEqual(v);
        rejects(c, [...v, 1], RangeError);
      }),
    );
    rejects(array(u8, 2), new Uint8Array(2), TypeError);
  });

  it("does not write anything when a later element is invalid", () => {
    rejects(array(u8, 3), [1, 2, 300], RangeError);
  });

  it("perCpu: one slot per CPU, each rounded up to 8 bytes, padding zeroed", () => {
    const c = perCpu(u32, 3);
    expect(c.size).toBe(24);
    const buf = new Uint8Array(24).fill(0xff);
    c.encode([1, 2, 3], new DataView(buf.buffer), 0);
    expect([...buf]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
    expect(c.decode(new DataView(buf.buffer), 0)).toEqual([1, 2, 3]);
    expect(perCpu(bytes(12), 2).size).toBe(32);
    expect(() => perCpu(u32, 0)).toThrow(RangeError);
  });
});

describe("struct", () => {
  const event = struct([
    { name: "pid", codec: u32 },
    { name: "comm", codec: cstring(5) },
    { name: "ts", codec: u64 },
    { name: "flag", codec: bool },
  ]);

  it("lays fields out as C does: natural alignment, zeroed padding, size rounded to the alignment", () => {
    // pid 0..4, comm 4..9, (pad) ts 16..24, flag 24, (pad to 32)
    expect(event.size).toBe(32);
    expect(event.align).toBe(8);
    const buf = new Uint8Array(32).fill(0xff);
    event.encode({ pid: 0x01020304, comm: "ab", ts: 5n, flag: true }, new DataView(buf.buffer), 0);
    expect([...buf.subarray(0, 4)]).toEqual([4, 3, 2, 1]);
    expect([...buf.subarray(4, 16)]).toEqual([0x61, 0x62, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(new DataView(buf.buffer).getBigUint64(16, true)).toBe(5n);
    expect([...buf.subarray(24)]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("encode → decode is identity for any valid value", () => {
    fc.assert(
      fc.property(
        fc.record({
          pid: fc.integer({ min: 0, max: 0xffffffff }),
          comm: fc.stringMatching(/^[a-z]{0,4}$/),
          ts: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          flag: fc.boolean(),
        }),
        (v) => {
          expect(roundTrip(event, v)).toEqual(v);
        },
      ),
    );
  });

  it("honours explicit offsets and size, nests structs and arrays", () => {
    const inner = struct([{ name: "a", codec: u8 }, { name: "b", codec: u16, offset: 2 }]);
    expect(inner.size).toBe(4);
    const outer = struct([{ name: "x", codec: inner }, { name: "ys", codec: array(u32, 2), offset: 8 }], { size: 24 });
    expect(outer.size).toBe(24);
    const v = { x: { a: 1, b: 2 }, ys: [3, 4] };
    expect(roundTrip(outer, v)).toEqual(v);
  });

  it("rejects missing, unknown and ill-typed fields without writing anything", () => {
    rejects(event, { pid: 1, comm: "a", ts: 1n }, TypeError);
    rejects(event, { pid: 1, comm: "a", ts: 1n, flag: true, extra: 1 }, TypeError);
    rejects(event, { pid: 1, comm: "a", ts: 1n, flag: 1 }, TypeError);
    rejects(event, { pid: -1, comm: "a", ts: 1n, flag: true }, RangeError);
    rejects(event, null, TypeError);
    rejects(event, [1, 2], TypeError);
  });

  it("rejects overlapping fields, a size that cuts a field, duplicate names and unknown options", () => {
    expect(() => struct([{ name: "a", codec: u32 }, { name: "b", codec: u32, offset: 2 }])).toThrow(RangeError);
    expect(() => struct([{ name: "a", codec: u64 }], { size: 4 })).toThrow(RangeError);
    expect(() => struct([{ name: "a", codec: u8 }, { name: "a", codec: u8 }])).toThrow(TypeError);
    expect(() => struct([{ name: "a", codec: u8 }], { sized: 4 } as never)).toThrow(TypeError);
  });
});

describe("helpers", () => {
  it("default codec is raw bytes of the size; unsignedCodecForSize picks u8..u64", () => {
    expect(defaultCodec(4).size).toBe(4);
    expect(roundTrip(defaultCodec(3), new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(unsignedCodecForSize(1)).toBe(u8);
    expect(unsignedCodecForSize(2)).toBe(u16);
    expect(unsignedCodecForSize(4)).toBe(u32);
    expect(unsignedCodecForSize(8)).toBe(u64);
    expect(unsignedCodecForSize(6).size).toBe(6);
  });

  it("alignOf falls back to the size's largest power-of-two divisor up to 8", () => {
    expect(alignOf({ size: 12, encode() {}, decode: () => 0 })).toBe(4);
    expect(alignOf({ size: 16, encode() {}, decode: () => 0 })).toBe(8);
    expect(alignOf({ size: 3, encode() {}, decode: () => 0 })).toBe(1);
  });

  it("checkCodecSize names the mismatch", () => {
    expect(() => checkCodecSize(u32, 8, "key")).toThrow("key: codec is 4 bytes but the map's size is 8");
    expect(() => checkCodecSize({} as never, 8, "key")).toThrow(TypeError);
    expect(() => checkCodecSize(u64, 8, "key")).not.toThrow();
  });

  it("objectFd takes an fd or an object with one, and decodes the id the kernel returns", () => {
    expect(roundTrip(objectFd, 5)).toBe(5);
    expect(roundTrip(objectFd, { fd: 9 })).toBe(9);
    rejects(objectFd, -1, RangeError);
    rejects(objectFd, { fd: "x" }, TypeError);
  });
});

describe("decodeMany", () => {
  const all: [string, Codec<unknown>][] = [
    ["u8", u8], ["s8", s8], ["u16", u16], ["s16", s16], ["u32", u32], ["s32", s32],
    ["u64", u64], ["s64", s64], ["f32", f32], ["f64", f64], ["bytes(3)", bytes(3)], ["bool", bool],
  ];
  it.each(all)("%s: gives what one decode per element gives, aligned or not", (_, codec) => {
    fc.assert(
      fc.property(fc.nat(9), fc.nat(3), fc.nat(40), fc.uint8Array({ minLength: 600, maxLength: 600 }), (offset, extra, count, data) => {
        const stride = codec.size + extra;
        const view = new DataView(data.buffer, 1 + (offset % 2)); // odd and even base offsets
        fc.pre(offset + count * stride <= view.byteLength);
        const fast: unknown[] = [];
        decodeMany(codec, view, offset, stride, count, fast);
        const slow = Array.from({ length: count }, (_, i) => codec.decode(view, offset + i * stride));
        expect(fast).toEqual(slow);
      }),
    );
  });
});
