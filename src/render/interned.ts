import { Memo } from '../shared/memo.ts';
import { serialOf } from './object-serial.ts';

/**
 * Interned view parts: frozen objects shared by every message that has the same value
 * (campaign parameters, links, segment flags). Their identity stands for their content, so
 * cohort keys carry a serial for them instead of their JSON.
 */
const interned = new WeakSet<object>();

export function intern<T extends object>(o: T): T {
  interned.add(Object.freeze(o));
  return o;
}

/** The value as it goes into a key: an interned object's serial, anything else as it is. */
export function keyValue(v: unknown): unknown {
  return typeof v === 'object' && v !== null && interned.has(v) ? serialOf(v) : v;
}

/** A memo of interned objects by a string key (a Memo whose values are interned). */
export class InternTable<T extends object> {
  private readonly cache: Memo<T>;

  constructor(max = 10_000) {
    this.cache = new Memo<T>(max);
  }

  get(key: string, make: () => T): T {
    return this.cache.get(key, () => intern(make()));
  }
}
