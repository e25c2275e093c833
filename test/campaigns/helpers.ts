import type { Campaigns } from '../../src/campaigns/campaign-service.ts';
import request from 'supertest';
import type { Express } from 'express';
import { picks } from '../http/helpers.ts';

/** A stored customer in the at_risk segment (last order in May, the test date being 22 November). */
export function atRiskCustomer(id: string, timezone = 'Europe/London', extra: { phone?: string; consent?: { email: boolean; whatsapp: boolean } } = {}) {
  return {
    id,
    email: `${id}@example.com`,
    ...(extra.phone ? { phone: extra.phone } : {}),
    timezone,
    profile: {
      firstName: `Name ${id}`,
      locale: 'en',
      currency: 'EUR',
      consent: extra.consent ?? { email: true, whatsapp: true },
      orders: { count: 3, totalSpent: 210, lastOrderAt: '2026-05-01T10:00:00Z' },
    },
  };
}

/** A recent buyer: in no at_risk segment. */
export function activeCustomer(id: string) {
  return { id, email: `${id}@example.com`, timezone: 'Europe/London', profile: { locale: 'en', currency: 'EUR', consent: { email: true }, orders: { count: 2, totalSpent: 90, lastOrderAt: '2026-11-10T10:00:00Z' } } };
}

export async function putCustomers(app: Express, customers: unknown[]): Promise<void> {
  for (let i = 0; i < customers.length; i += 1000) {
    const res = await request(app).put('/v1/customers').send(customers.slice(i, i + 1000));
    if (res.status !== 200) throw new Error(`PUT /v1/customers: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/** A win-back campaign over the at_risk segment, by email. */
export function winBack(id: string, extra: Record<string, unknown> = {}) {
  return { id, template: 'win-back', audience: { segments: ['at_risk'], consent: 'email' }, channels: ['email'], recommendations: picks('winback'), ...extra };
}

/** Resolves once the campaign's status is `status`, looking after every chunk these services run (no timers). */
export function waitForStatus(services: Campaigns[], id: string, status = 'completed'): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = () => {
      services[0]!.progress(id).then((p) => {
        if (done || p?.status !== status) return;
        done = true;
        for (const s of services) s.events.off('chunk', onChunk);
        resolve();
      }, reject);
    };
    const onChunk = (campaignId: string) => campaignId === id && check();
    for (const s of services) s.events.on('chunk', onChunk);
    check();
  });
}
