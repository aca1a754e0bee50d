/**
 * Lazy data properties for specs: a property that is computed on first read, replaced by an
 * assignment, and enumerable (so `{ ...spec }` and JSON see its value). The accessor functions
 * are shared per property name (one pair per name for the whole process), so making a spec
 * lazy costs no closures per object.
 */
const STATE = Symbol("tsbpf.lazy");

interface LazyState {
  compute: (key: string) => unknown;
  values: Map<string, unknown>;
}

type WithState = { [STATE]?: LazyState };

const accessors = new Map<string, PropertyDescriptor>();

function accessor(key: string): PropertyDescriptor {
  let d = accessors.get(key);
  if (!d) {
    d = {
      enumerable: true,
      configurable: true,
      get(this: WithState) {
        const s = this[STATE]!;
        if (!s.values.has(key)) s.values.set(key, s.compute(key));
        return s.values.get(key);
      },
      set(this: WithState, v: unknown) {
        this[STATE]!.values.set(key, v);
      },
    };
    accessors.set(key, d);
  }
  return d;
}

/**
 * Make `keys` of `obj` lazy: the first read of a key calls `compute(key)` (errors propagate and
 * the next read tries again). Calling it again on the same object adds keys with their own
 * compute function.
 */
export function defineLazy<T extends object>(obj: T, keys: readonly string[], compute: (key: string) => unknown): void {
  const o = obj as WithState;
  if (!o[STATE]) o[STATE] = { compute, values: new Map() };
  else {
    const prev = o[STATE]!.compute;
    const mine = new Set(keys);
    o[STATE]!.compute = (k) => (mine.has(k) ? compute(k) : prev(k));
  }
  for (const k of keys) Object.defineProperty(obj, k, accessor(k));
}
