import { customerOutputSchema, customerUpsertResultSchema } from '../../src/shop/customer-schema.ts';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedFixtureCustomers } from '../../src/shop/seed-customers.ts';
import { FIXTURES, openTestApp, profile, removeDir, type TestApp } from '../http/helpers.ts';

const API_KEY = 'customers-test-key-0123456789';
let t: TestApp;
beforeAll(async () => {
  t = await openTestApp({ env: { API_KEYS: API_KEY } });
});
afterAll(async () => {
  await t?.close();
  removeDir(t.dataDir);
});

const auth = { Authorization: `Bearer ${API_KEY}` };
const address = { name: 'Ingrid Lindqvist', line1: 'Fjällgatan 7', city: 'Åre', postalCode: '837 52', country: 'SE' };

describe('PUT /v1/customers and GET /v1/customers/:id', () => {
  it('needs the API key like the rest of /v1', async () => {
    expect((await request(t.app).put('/v1/customers').send([{ id: 'x' }])).status).toBe(401);
    expect((await request(t.app).get('/v1/customers/x')).status).toBe(401);
  });

  it('registers address, payment token and profile; reading back names the card but never returns its token', async () => {
    const res = await request(t.app)
      .put('/v1/customers')
      .set(auth)
      .send([{ id: 'cust-ingrid', email: 'ingrid.lindqvist@example.com', phone: '+46701234567', address, paymentMethod: { type: 'card', last4: '4242', token: 'pm_1Q2w3E4r5T' }, profile: profile('ingrid') }]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ count: 1, ids: ['cust-ingrid'] });
    const got = await request(t.app).get('/v1/customers/cust-ingrid').set(auth).expect(200);
    // Market settings come from the profile when not given.
    expect(got.body).toMatchObject({ id: 'cust-ingrid', locale: 'sv', currency: 'SEK', timezone: 'Europe/Stockholm', address, paymentMethod: { type: 'card', last4: '4242' }, preferences: {} });
    expect(got.body.paymentMethod.token).toBeUndefined();
    // The OpenAPI document describes this answer with customerOutputSchema (strict: no extra fields).
    expect(customerOutputSchema.strict().safeParse(got.body).success).toBe(true);
    expect(customerUpsertResultSchema.strict().safeParse(res.body).success).toBe(true);
    expect(JSON.stringify(got.body)).not.toContain('pm_1Q2w3E4r5T');
    expect((await t.store.customers.get('cust-ingrid'))!.paymentMethod!.token).toBe('pm_1Q2w3E4r5T');
  });

  it('validates every customer first and stores none when one is wrong, naming index and field', async () => {
    const res = await request(t.app)
      .put('/v1/customers')
      .set(auth)
      .send([
        { id: 'cust-ok-1', address },
        { id: 'cust-bad', phone: '0701234567', currency: 'XXQ', timezone: 'Mars/Olympus', address: { ...address, country: 'Sweden' }, paymentMethod: { type: 'card', last4: '4242', token: '4242 4242 4242 4242' } },
        { id: 'cust-ok-1' },
      ]);
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual(
      ['1.phone', '1.currency', '1.timezone', '1.address.country', '1.paymentMethod.token', '2.id'].sort(),
    );
    expect(res.body.error.fields.find((f: { path: string }) => f.path === '1.paymentMethod.token').message).toMatch(/never a card number/);
    expect((await request(t.app).get('/v1/customers/cust-ok-1').set(auth)).status).toBe(404);
  });

  it('an unknown customer is a 404 that says how to register it', async () => {
    const res = await request(t.app).get('/v1/customers/cust-nobody').set(auth);
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual({ code: 'unknown_customer', message: "No customer with id 'cust-nobody'. PUT /v1/customers registers it." });
  });
});

describe('fixture customers', () => {
  it('seed six customers on a fresh database (cards for Sophie and Carl only), and nothing on the next start', async () => {
    const fresh = await openTestApp({ seed: false });
    try {
      expect(await seedFixtureCustomers(fresh.store, FIXTURES)).toBe(6);
      expect(await seedFixtureCustomers(fresh.store, FIXTURES)).toBe(0);
      const ids = ['cust-sophie', 'cust-rachel', 'cust-ingrid', 'cust-emre', 'cust-ayse', 'cust-carl'];
      const customers = await Promise.all(ids.map((id) => fresh.store.customers.get(id)));
      expect(customers.every((c) => c?.address !== undefined)).toBe(true);
      expect(customers.filter((c) => c?.paymentMethod).map((c) => c!.id)).toEqual(['cust-sophie', 'cust-carl']);
      // The profile rides along, so live offers pre-select the usual size.
      expect(customers[2]!.profile).toMatchObject({ orders: { sizesBought: { jeans: { '28': 3 } } } });
      expect(customers[3]).toMatchObject({ locale: 'tr', currency: 'TRY' });
    } finally {
      await fresh.close();
      removeDir(fresh.dataDir);
    }
  });
});
