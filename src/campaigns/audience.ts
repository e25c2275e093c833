import type { Kysely } from 'kysely';
import { profileSchema, type Profile } from '../personalize/profile-schema.ts';
import type { SegmentThresholds } from '../personalize/segment-thresholds.ts';
import { computeSegments, type SegmentName } from '../personalize/segments.ts';
import type { Database } from '../store/database-schema.ts';
import { chunks } from '../store/chunks.ts';
import { toCustomer, type Customer } from '../store/customers-repository.ts';
import type { Audience } from './campaign-schema.ts';

export interface AudienceMember {
  customerId: string;
  profile: Profile;
}

/** A segment or customer id the audience names that does not exist: the route answers 400 naming it. */
export class UnknownAudienceError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'UnknownAudienceError';
  }
}

/** Customers read per query while filtering by segment: bounded memory for millions of rows. */
const PAGE = 1000;

/**
 * The profile a stored customer is rendered with: the campaign system's profile with the
 * contact and market fields PUT /v1/customers stored beside it. Undefined when what is stored
 * no longer passes the profile schema (it is left out, never sent half-checked).
 */
export function storedProfile(c: Customer): Profile | undefined {
  const parsed = profileSchema.safeParse({ ...c.profile, id: c.id, email: c.email, phone: c.phone, locale: c.locale, currency: c.currency, timezone: c.timezone });
  return parsed.success ? parsed.data : undefined;
}

function matchesLocale(locale: string, wanted: readonly string[]): boolean {
  const lower = locale.toLowerCase();
  return wanted.some((w) => lower === w.toLowerCase() || lower.startsWith(`${w.toLowerCase()}-`));
}

/**
 * Resolves the audience once, at creation: segment membership is the render's own
 * (`computeSegments` with the configured thresholds) at `now`, so the recipient list is fixed
 * and every worker and retry sees the same one. Ordered by customer id for a stable `seq`.
 */
export async function resolveAudience(
  audience: Audience,
  o: { db: Kysely<Database>; thresholds: SegmentThresholds; now: Date; knownSegments: readonly string[] },
): Promise<AudienceMember[]> {
  if ('recipients' in audience) {
    const seen = new Set<string>();
    // A recipient listed twice gets one message: the delivery key is per customer.
    return audience.recipients.filter((p) => !seen.has(p.id) && seen.add(p.id)).map((profile) => ({ customerId: profile.id, profile }));
  }
  if ('customerIds' in audience) {
    const ids = [...new Set(audience.customerIds)];
    const found = new Map<string, Customer>();
    for (const slice of chunks(ids, PAGE)) {
      for (const row of await o.db.selectFrom('customers').selectAll().where('id', 'in', slice).execute()) found.set(row.id, toCustomer(row));
    }
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) {
      throw new UnknownAudienceError('audience.customerIds', `Unknown customer id(s): ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}. PUT /v1/customers registers them.`);
    }
    return ids.sort().flatMap((id) => {
      const profile = storedProfile(found.get(id)!);
      return profile ? [{ customerId: id, profile }] : [];
    });
  }

  audience.segments.forEach((s, i) => {
    if (!o.knownSegments.includes(s)) throw new UnknownAudienceError(`audience.segments.${i}`, `Unknown segment '${s}'. Known segments: ${o.knownSegments.join(', ')}.`);
  });
  const wanted = audience.segments as SegmentName[];
  const out: AudienceMember[] = [];
  let after = '';
  for (;;) {
    const rows = await o.db.selectFrom('customers').selectAll().where('id', '>', after).orderBy('id').limit(PAGE).execute();
    for (const row of rows) {
      const profile = storedProfile(toCustomer(row));
      if (!profile) continue;
      if (audience.locales && !matchesLocale(profile.locale, audience.locales)) continue;
      if (audience.consent && !profile.consent[audience.consent]) continue;
      const segments = computeSegments(profile, o.thresholds, o.now);
      if (wanted.every((s) => segments[s])) out.push({ customerId: row.id, profile });
    }
    if (rows.length < PAGE) return out;
    after = rows[rows.length - 1]!.id;
  }
}
