/**
 * A by-name record (`Collection.programs`, `Collection.maps`) that throws on an unknown name
 * instead of answering `undefined`, so `attach.xdp(coll.programs.typo)` says which name is
 * missing and which were loaded. It is a Proxy with only a `get` trap: `Object.keys`,
 * `for...in`, spreading, `in`, `Object.hasOwn` and JSON see the plain object underneath.
 */
import { TsbpfError } from "../errors.js";

/**
 * Names that tools probe on any object to learn what it is (thenables, JSON, test matchers,
 * pretty printers, React): they answer `undefined` as on a plain object instead of throwing.
 */
const PROBED = new Set([
  "then",
  "toJSON",
  "asymmetricMatch",
  "$$typeof",
  "nodeType",
  "tagName",
  "inspect",
  "_isMockFunction",
  "@@__IMMUTABLE_ITERABLE__@@",
  "@@__IMMUTABLE_RECORD__@@",
  "@@__IMMUTABLE_KEYED__@@",
  "@@__IMMUTABLE_ORDERED__@@",
]);

/**
 * Wrap `target` so that reading a name it does not have throws TsbpfError
 * `collection: no program "typo" (loaded: a, b)`. Names in `declared` (what the spec has but
 * this load left out: `?` programs, programs not asked for) read as `undefined`, as the typed
 * bindings promise for optional programs. Symbols, Object.prototype members and the PROBED
 * names read as on a plain object. Writes go to `target`.
 */
export function strictRecord<T>(what: string, target: Record<string, T>, declared: ReadonlySet<string> = new Set()): Record<string, T> {
  return new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === "symbol" || Object.hasOwn(t, key) || key in Object.prototype || PROBED.has(key) || declared.has(key)) return Reflect.get(t, key, receiver) as unknown;
      const have = Object.keys(t);
      const fix = what === "program" ? "check the name, and Collection.load's programs option" : "check the name";
      throw new TsbpfError(`collection: no ${what} ${JSON.stringify(key)} (loaded: ${have.length ? have.join(", ") : "none"}): ${fix}`);
    },
  });
}
