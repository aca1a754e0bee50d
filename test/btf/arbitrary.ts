/** fast-check arbitraries for BTF types whose references stay inside the generated list. */
import fc from "fast-check";
import type { BtfTypeInit } from "../../src/btf/types.js";

const name = fc.oneof(
  fc.constant(""),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/),
  fc.string({ unit: "grapheme", maxLength: 6 }).filter((s) => !s.includes("\0")),
);
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/**
 * One type referring to ids in [0, maxId]. With `hostile`, member and datasec variable offsets
 * may lie outside their struct or section (BTF the parser must refuse); without it they are in
 * bounds, as parseBtf requires.
 */
export function arbType(maxId: number, hostile = false): fc.Arbitrary<BtfTypeInit> {
  const ref = fc.integer({ min: 0, max: maxId });
  const int = fc
    .record({ size: fc.constantFrom(1, 2, 4, 8, 16), enc: fc.integer({ min: 0, max: 7 }) })
    .chain(({ size, enc }) =>
      fc.integer({ min: 1, max: Math.min(size * 8, 128) }).chain((bits) =>
        fc.record({
          kind: fc.constant("int" as const),
          name,
          size: fc.constant(size),
          signed: fc.constant((enc & 1) !== 0),
          char: fc.constant((enc & 2) !== 0),
          bool: fc.constant((enc & 4) !== 0),
          bits: fc.constant(bits),
          bitOffset: fc.integer({ min: 0, max: Math.min(255, size * 8 - bits) }),
        }),
      ),
    );
  const wrap = (kind: "ptr" | "typedef" | "volatile" | "const" | "restrict") =>
    fc.record({ kind: fc.constant(kind), name, type: ref });
  const inBounds = (bits: number, maxOffset: number, bitfieldSize: fc.Arbitrary<number>) =>
    bitfieldSize.chain((bf) => fc.record({ name, type: ref, bitOffset: fc.integer({ min: 0, max: Math.max(0, Math.min(maxOffset, bits - bf)) }), bitfieldSize: fc.constant(Math.min(bf, bits)) }));
  const composite = fc.tuple(fc.boolean(), u32).chain(([bitfields, size]) =>
    fc.record({
      kind: fc.constantFrom("struct" as const, "union" as const),
      name,
      size: fc.constant(size),
      members: fc.array(
        hostile
          ? fc.record({
              name,
              type: ref,
              bitOffset: bitfields ? fc.integer({ min: 0, max: 0xffffff }) : u32,
              bitfieldSize: bitfields ? fc.integer({ min: 0, max: 255 }) : fc.constant(0),
            })
          : inBounds(size * 8, bitfields ? 0xffffff : 0xffffffff, bitfields ? fc.integer({ min: 0, max: 128 }) : fc.constant(0)),
        { maxLength: 5 },
      ),
    }),
  );
  const enum32 = fc.boolean().chain((signed) =>
    fc.record({
      kind: fc.constant("enum" as const),
      name,
      size: fc.constantFrom(1, 2, 4, 8),
      signed: fc.constant(signed),
      values: fc.array(
        fc.record({ name, value: signed ? fc.integer({ min: -0x80000000, max: 0x7fffffff }) : u32 }),
        { maxLength: 4 },
      ),
    }),
  );
  const enum64 = fc.boolean().chain((signed) =>
    fc.record({
      kind: fc.constant("enum64" as const),
      name,
      size: fc.constantFrom(1, 2, 4, 8),
      signed: fc.constant(signed),
      values: fc.array(fc.record({ name, value: signed ? fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }) : fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }), {
        maxLength: 4,
      }),
    }),
  );
  return fc.oneof(
    int,
    wrap("ptr"),
    wrap("typedef"),
    wrap("volatile"),
    wrap("const"),
    wrap("restrict"),
    fc.record({ kind: fc.constant("array" as const), name, type: ref, indexType: ref, nelems: u32 }),
    composite,
    enum32,
    enum64,
    fc.record({ kind: fc.constant("fwd" as const), name, union: fc.boolean() }),
    fc.record({ kind: fc.constant("func" as const), name, type: ref, linkage: fc.constantFrom("static" as const, "global" as const, "extern" as const) }),
    fc.record({
      kind: fc.constant("func_proto" as const),
      name,
      returnType: ref,
      params: fc.array(fc.record({ name, type: ref }), { maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant("var" as const), name, type: ref, linkage: fc.constantFrom("static" as const, "global" as const, "extern" as const) }),
    u32.chain((size) =>
      fc.record({
        kind: fc.constant("datasec" as const),
        name,
        size: fc.constant(size),
        vars: fc.array(
          hostile || size === 0
            ? fc.record({ type: ref, offset: u32, size: u32 })
            : fc.integer({ min: 0, max: size }).chain((offset) => fc.record({ type: ref, offset: fc.constant(offset), size: fc.integer({ min: 0, max: size - offset }) })),
          { maxLength: 4 },
        ),
      }),
    ),
    fc.record({ kind: fc.constant("float" as const), name, size: fc.constantFrom(2, 4, 8, 12, 16) }),
    fc.record({ kind: fc.constant("decl_tag" as const), name, type: ref, componentIdx: fc.integer({ min: -1, max: 10 }), attribute: fc.boolean() }),
    fc.record({ kind: fc.constant("type_tag" as const), name, type: ref, attribute: fc.boolean() }),
  ) as fc.Arbitrary<BtfTypeInit>;
}

/** A list of 1..maxLength types whose references all resolve. */
export function arbTypes(maxLength = 20, hostile = false): fc.Arbitrary<BtfTypeInit[]> {
  return fc.integer({ min: 1, max: maxLength }).chain((n) => fc.array(arbType(n, hostile), { minLength: n, maxLength: n }));
}
