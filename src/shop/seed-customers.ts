import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/index.ts';
import { customerBatchSchema, toCustomer } from './customer-schema.ts';

/**
 * Registers the sample customers of fixtures/customers.json (addresses, payment tokens) with
 * their fixture profiles, on an empty customers table only, so the demo's emails can be
 * bought from. Entries are in the `PUT /v1/customers` format; one without a `profile` gets
 * the fixtures/profiles file whose `id` matches. Returns how many were stored.
 *
 * @example
 * await seedFixtureCustomers(store, config.fixturesDir) // 6 on a fresh database, 0 afterwards
 */
export async function seedFixtureCustomers(store: Pick<Store, 'db' | 'customers'>, fixturesDir: string): Promise<number> {
  const file = join(fixturesDir, 'customers.json');
  if (!existsSync(file)) return 0;
  const any = await store.db.selectFrom('customers').select('id').limit(1).executeTakeFirst();
  if (any) return 0;

  const profiles = new Map<string, unknown>();
  const dir = join(fixturesDir, 'profiles');
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!name.endsWith('.json')) continue;
    const profile = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { id?: unknown };
    if (typeof profile.id === 'string') profiles.set(profile.id, profile);
  }
  const entries = JSON.parse(readFileSync(file, 'utf8')) as { id?: unknown; profile?: unknown }[];
  const withProfiles = entries.map((e) => (e.profile === undefined && typeof e.id === 'string' && profiles.has(e.id) ? { ...e, profile: profiles.get(e.id) } : e));
  const parsed = customerBatchSchema.safeParse(withProfiles);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`${file} is not a valid customer list: ${problems}`);
  }
  for (const c of parsed.data) await store.customers.upsert(toCustomer(c));
  return parsed.data.length;
}
