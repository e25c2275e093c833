/**
 * A percentage off a price in minor units, rounded to the minor unit. The email shows, the
 * AMP checkout charges and the WhatsApp chat charges this one figure, so what a customer is
 * shown is, to the cent, what they pay.
 */
export function percentOffMinor(listMinor: number, percentOff: number): number {
  return Math.round((listMinor * (100 - percentOff)) / 100);
}
