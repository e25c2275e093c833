const formats = new Map<string, Intl.DateTimeFormat | null>();

function localClock(timezone: string, now: Date): { hour: number; minute: number } {
  let f = formats.get(timezone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en', { hour: 'numeric', minute: 'numeric', hourCycle: 'h23', timeZone: timezone });
    } catch {
      // An unknown zone in CDP data: the profile schema only bounds its length. UTC, like segments.ts.
      f = null;
    }
    formats.set(timezone, f);
  }
  if (!f) return { hour: now.getUTCHours(), minute: now.getUTCMinutes() };
  const parts = f.formatToParts(now);
  return { hour: Number(parts.find((p) => p.type === 'hour')?.value), minute: Number(parts.find((p) => p.type === 'minute')?.value) };
}

/**
 * When the customer's quiet hours end, if `now` falls inside them (21:00–08:00 local by
 * default): marketing waits until then rather than waking anyone. The end is counted in local
 * minutes, so across a DST change it may come an hour early or late; a message that lands
 * still inside the quiet hours is deferred again.
 *
 * @example
 * quietUntil('Europe/Stockholm', new Date('2026-11-22T21:30:00Z'), { start: 21, end: 8 }) // 2026-11-23T07:00:00.000Z
 */
export function quietUntil(timezone: string, now: Date, hours: { start: number; end: number }): Date | undefined {
  const { hour, minute } = localClock(timezone, now);
  const quiet = hours.start > hours.end ? hour >= hours.start || hour < hours.end : hour >= hours.start && hour < hours.end;
  if (!quiet) return undefined;
  const minutes = (((hours.end * 60 - (hour * 60 + minute)) % 1440) + 1440) % 1440;
  const startOfMinute = now.getTime() - (now.getTime() % 60_000);
  return new Date(startOfMinute + minutes * 60_000);
}
