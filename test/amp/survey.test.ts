import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUIZZES } from '../../src/commerce/quizzes.ts';
import { ampUrls, decodeEntities, expectAmpAnswer, openAmpApp, pathOf, renderAmp, v1, v2, type AmpApp } from './amp-kit.ts';

let t: AmpApp;
beforeAll(async () => {
  t = await openAmpApp('sqlite');
});
afterAll(async () => {
  await t?.destroy();
});

const surveyUrl = (amp: string) => pathOf(ampUrls(amp).forms.find((u) => u.includes('/amp/v1/survey?'))!);
const skus = (items: { sku: string }[]) => items.map((i) => i.sku);

describe('skin quiz: answers become preferences and pick the products', () => {
  it('offers exactly the answers the quiz definition accepts', async () => {
    const { amp } = await renderAmp(t, 'skin-quiz', 'quinn-quiz', 'skincare');
    const quiz = QUIZZES.get('skin-quiz')!;
    for (const [name, question] of Object.entries(quiz.questions)) {
      const type = question.multiple ? 'checkbox' : 'radio';
      const offered = [...amp.matchAll(new RegExp(`<input type="${type}" name="${name}" value="([^"]+)"`, 'g'))].map((m) => decodeEntities(m[1]!));
      expect(offered, name).toEqual(Object.keys(question.options));
    }
    // Quinn told us before that her skin is dry: the answer is already chosen.
    expect(amp).toMatch(/name="skinType" value="dry" required checked>/);
  });

  it('saves the answers as zero-party preferences and answers with the matching products at live prices', async () => {
    const { amp } = await renderAmp(t, 'skin-quiz', 'quinn-quiz', 'skincare');
    const res = await request(t.server).post(surveyUrl(amp)).set(v2).type('form').send('skinType=dry&concerns=dullness&concerns=fine-lines');
    expectAmpAnswer(res);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ saved: true, matched: true, preferences: { skinType: 'dry', concerns: ['dullness', 'fine-lines'] } });
    // Dry skin weighs twice a concern: the two dry-skin products first, in the email's order.
    expect(skus(res.body.items)).toEqual(['NL-SKN-001', 'NL-SKN-004', 'NL-SKN-002', 'NL-SKN-003']);
    expect(res.body.items[0]).toMatchObject({ title: expect.any(String), priceText: '€39.95', soldOut: false });
    expect(res.body.matches).toEqual([true, true, true, true]);

    const rows = await t.store.db.selectFrom('profile_preferences').select(['key', 'value']).where('customer_id', '=', 'cust-quinn').orderBy('key').execute();
    expect(rows).toEqual([
      { key: 'concerns', value: JSON.stringify(['dullness', 'fine-lines']) },
      { key: 'skinType', value: JSON.stringify('dry') },
    ]);
  });

  it('shows only the products that fit, and the email hides the others by index', async () => {
    const { amp } = await renderAmp(t, 'skin-quiz', 'quinn-quiz', 'skincare');
    const cors = v1(surveyUrl(amp));
    const res = await request(t.server).post(cors.path).set(cors.headers).field('skinType', 'dry').field('concerns', 'sensitivity');
    expect(res.status).toBe(200);
    expect(skus(res.body.items)).toEqual(['NL-SKN-004', 'NL-SKN-001']);
    expect(res.body.matches).toEqual([true, false, false, true]);
    // The card for the n-th product binds [hidden] to matches[n].
    expect(amp).toContain('<div [hidden]="quiz.matches[1] == false">');
  });

  it('when nothing fits, says so and keeps the campaign picks', async () => {
    const { amp } = await renderAmp(t, 'skin-quiz', 'quinn-quiz', 'skincare');
    const res = await request(t.server).post(surveyUrl(amp)).set(v2).type('form').send({ skinType: 'oily', concerns: 'blemishes' });
    expect(res.body).toMatchObject({ matched: false, matches: [true, true, true, true] });
    expect(res.body.items).toHaveLength(4);
    // Answers merge: a later quiz replaces what it asks and keeps the rest.
    expect(await t.store.customers.getPreferences('cust-quinn')).toEqual({ skinType: 'oily', concerns: ['blemishes'] });
  });

  it('refuses answers outside the quiz, naming the field', async () => {
    const { amp } = await renderAmp(t, 'skin-quiz', 'quinn-quiz', 'skincare');
    const url = surveyUrl(amp);
    const greasy = await request(t.server).post(url).set(v2).type('form').send({ skinType: 'greasy' });
    expect(greasy.status).toBe(400);
    expect(greasy.body.error.fields).toEqual([{ path: 'skinType', message: 'choose one of: dry, oily, combination, normal' }]);
    expect(greasy.body.error.message).toBe('Please check your choice and try again.');
    const twice = await request(t.server).post(url).set(v2).type('form').send('skinType=dry&concerns=dullness&concerns=dullness');
    expect(twice.status).toBe(400);
    expect(twice.body.error.fields[0].path).toBe('concerns');
    const none = await request(t.server).post(url).set(v2).type('form').send('concerns=dullness');
    expect(none.body.error.fields[0].path).toBe('skinType');
  });

  it('a message without a quiz has no survey', async () => {
    const { amp } = await renderAmp(t, 'recommendations', 'sophie', 'picks-8');
    const token = new URL(ampUrls(amp).lists[0]!).searchParams.get('token')!;
    const res = await request(t.server).post(`/amp/v1/survey?token=${encodeURIComponent(token)}`).set(v2).type('form').send({ skinType: 'dry' });
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual({ code: 'no_survey', message: 'This email has no questions to answer.' });
  });

  it('Swedish answers are priced in kronor and show in GET /v1/customers', async () => {
    const { amp } = await renderAmp(t, 'skin-quiz', 'ingrid', 'skincare');
    const res = await request(t.server).post(surveyUrl(amp)).set(v2).type('form').send({ skinType: 'combination' });
    expect(res.body.items[0].priceText).toMatch(/^439,00\skr$/);
    const customer = await request(t.server).get('/v1/customers/cust-ingrid').expect(200);
    expect(customer.body.preferences).toEqual({ concerns: [], skinType: 'combination' });
  });

  it('buying from the quiz without an address on file continues in the shop, with the item in the cart', async () => {
    const { amp } = await renderAmp(t, 'skin-quiz', 'quinn-quiz', 'skincare');
    const checkout = pathOf(ampUrls(amp).forms.find((u) => u.includes('/amp/v1/checkout?'))!);
    for (let i = 0; i < 2; i++) {
      const res = await request(t.server).post(checkout).set(v2).type('form').send({ sku: 'NL-SKN-001', size: '50ml', quantity: '1' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'continue_in_shop', totalText: '€39.95' });
      expect(res.body.orderId).toBeUndefined();
      expect(res.body.checkoutUrl).toMatch(/^https:\/\/shop\.nordlys\.example\/checkout\?utm_source=inboxcart&utm_medium=email/);
    }
    expect((await t.store.carts.get('cust-quinn')).items).toEqual([{ sku: 'NL-SKN-001', size: '50ml', quantity: 1 }]);
    expect(await t.store.orders.listByCustomer('cust-quinn')).toEqual([]);
  });
});
