const formats = new Map<string, Intl.DateTimeFormat | null>();

/**
 * The calendar date (YYYY-MM-DD) at `at` in `timezone`; UTC's when the zone is unknown to Intl
 * (the profile schema accepts any name).
 */
export function localDate(at: Date, timezone: string): string {
  let f = formats.get(timezone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
    } catch {
      f = null;
    }
    formats.set(timezone, f);
  }
  return f ? f.format(at) : at.toISOString().slice(0, 10);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Whether `today` (YYYY-MM-DD) is the birthday `birthday` (YYYY-MM-DD) falls on that year, or
 * lies in its month: a 29 February birthday is kept on 28 February in other years.
 */
export function isBirthday(birthday: string, today: string, at: 'day' | 'month'): boolean {
  const month = birthday.slice(5, 7);
  if (today.slice(5, 7) !== month) return false;
  if (at === 'month') return true;
  const day = birthday.slice(8, 10);
  if (month === '02' && day === '29' && !isLeapYear(Number(today.slice(0, 4)))) return today.slice(8, 10) === '28';
  return today.slice(8, 10) === day;
}
