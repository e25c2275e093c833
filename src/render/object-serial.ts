/**
 * A number per object, for keys: an immutable, memoised object (a product view, a product
 * list) stands for its content by identity, so a key can carry a serial instead of its JSON.
 */
const serials = new WeakMap<object, number>();
let nextSerial = 0;

export function serialOf(o: object): number {
  let n = serials.get(o);
  if (n === undefined) {
    n = ++nextSerial;
    serials.set(o, n);
  }
  return n;
}
