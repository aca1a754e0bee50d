/**
 * A hidden per-object slot for lazy own accessors that share one getter function.
 *
 * Why: an accessor whose getter is a fresh closure per object (a getter in an object literal,
 * or defineProperty with new functions) gives every object a map of its own, and V8 allocates
 * maps in old space. The map points at the closure, the closure at everything it captured, so
 * each object's whole graph survives young-generation collections (old→young pointers are
 * roots there) until the next full GC. Measured on parseElf alone (`get symbols` in its result
 * literal): every byte it allocated was copied and promoted, GC was half its time. A getter
 * shared by all objects keeps one map transition; the per-object state goes here instead.
 *
 * The slot is a private field stamped onto a plain object (a base class constructor that
 * returns its argument), so it is invisible to Object.keys, spread, JSON and Reflect.ownKeys,
 * and the object keeps its prototype.
 */
class Stamp {
  constructor(o: object) {
    return o as Stamp;
  }
}

/** One kind of slot (each call makes a distinct one): attach, read, test. */
export interface HiddenSlot<T> {
  /** Give `o` the slot holding `value`; TypeError if it has this slot already. */
  attach(o: object, value: T): void;
  /** The value in `o`'s slot; TypeError when it has none. */
  get(o: object): T;
  /** Whether `o` has the slot. */
  has(o: object): boolean;
}

export function hiddenSlot<T>(): HiddenSlot<T> {
  class Slot extends Stamp {
    #value: T;
    constructor(o: object, value: T) {
      super(o);
      this.#value = value;
    }
    static get(o: object): T {
      return (o as Slot).#value;
    }
    static has(o: object): boolean {
      return #value in o;
    }
  }
  return {
    attach: (o, value) => void new Slot(o, value),
    get: Slot.get,
    has: Slot.has,
  };
}
