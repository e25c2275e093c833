import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { payloadOwner } from '../../src/render/whatsapp/message-payloads.ts';
import { verifyPayload } from '../../src/commerce/signed-token.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { loadTemplateSet } from '../../src/templates/template-registry.ts';
import { NOW, renderKit, TEMPLATES_DIR, TEST_KEYS } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();
const request = (profile: string, template = 'price-drop') => sampleRequest(templates.templates.get(template)!.manifest, fixtures, profile, { now: NOW });
const sids: Record<string, string> = {
  'session:quick-reply:3': 'HX00000000000000000000000000000003',
  'template:inboxcart_price_drop:en': 'HX0000000000000000000000000000aa01',
};
const withSids = { ...deps, contentSid: (key: string) => sids[key] };

describe('WhatsApp part', () => {
  it('inside the 24-hour window: a session quick-reply through its Content definition, buttons signed', () => {
    const r = renderMessage({ ...request('sophie'), channels: ['whatsapp'] }, withSids);
    const wa = r.whatsapp!;
    if (wa.suppressed) throw new Error('suppressed');
    expect(wa.window).toBe('open');
    expect(wa.kind).toBe('session');
    expect(wa.message.to).toBe('whatsapp:+447700900123');
    expect(wa.message.contentSid).toBe('HX00000000000000000000000000000003');
    const vars = JSON.parse(wa.message.contentVariables!);
    expect(vars['1']).toBe(wa.preview.body);
    expect(wa.preview.buttons!.map((b) => b.title)).toEqual(['Buy now', 'Not now', 'Stop offers']);
    expect(verifyPayload(vars['2'], TEST_KEYS)).toBe(`buy@${payloadOwner('cust-sophie')}:NL-TOP-002:S:${r.id}`);
    expect(verifyPayload(vars['2'].replace(':NL-TOP-002:', ':X:'), TEST_KEYS)).toBeUndefined();
    // A VIP gets the price drop without the campaign discount, against the recorded 30-day lowest price.
    expect(wa.preview.body).toBe('Hi Sophie, Merino Rib Knit Top is now €69.95 (lowest price in the last 30 days: €79.95). Want it in size S?');
  });

  it('outside the window: the approved template with contentSid and contentVariables', () => {
    const r = renderMessage({ ...request('rachel'), channels: ['whatsapp'] }, withSids);
    const wa = r.whatsapp!;
    if (wa.suppressed) throw new Error('suppressed');
    expect(wa.window).toBe('closed');
    expect(wa.kind).toBe('template');
    expect(wa.message).toEqual({
      to: 'whatsapp:+447700900456',
      contentSid: 'HX0000000000000000000000000000aa01',
      contentVariables: expect.any(String),
    });
    const vars = JSON.parse(wa.message.contentVariables!);
    expect(vars).toMatchObject({ '1': 'Rachel', '2': 'Merino Rib Knit Top', '3': '€59.46 for you (15% off €69.95; lowest price in the last 30 days: €79.95)' });
    expect(wa.preview.body).toBe('Hi Rachel, Merino Rib Knit Top is €59.46 for you (15% off €69.95; lowest price in the last 30 days: €79.95). Want it?');
  });

  it('warns and falls back to plain text when the session content is not synced', () => {
    const r = renderMessage({ ...request('sophie'), channels: ['whatsapp'] }, deps);
    const wa = r.whatsapp!;
    if (wa.suppressed) throw new Error('suppressed');
    expect(wa.message.body).toBe(`${wa.preview.body}\n1. Buy now\n2. Not now\n3. Stop offers`);
    expect(r.warnings).toContain("WhatsApp content 'session:quick-reply:3' is not synced (run: npx inboxcart twilio sync); sent as plain text");
  });

  it('is suppressed without consent, after STOP, and without a phone number', () => {
    expect(renderMessage({ ...request('lars-coast'), channels: ['whatsapp'] }, deps).whatsapp).toMatchObject({ suppressed: true, reason: 'no_consent' });
    expect(renderMessage({ ...request('sophie'), channels: ['whatsapp'] }, { ...deps, whatsappOptedOut: () => true }).whatsapp).toMatchObject({ suppressed: true, reason: 'opted_out' });
    expect(renderMessage({ ...request('minimal'), channels: ['whatsapp'] }, deps).whatsapp).toMatchObject({ suppressed: true, reason: 'no_phone' });
  });

  it('speaks the customer language (Turkish, Swedish)', () => {
    const tr = renderMessage({ ...request('emre'), channels: ['whatsapp'] }, deps).whatsapp!;
    if (tr.suppressed) throw new Error('suppressed');
    expect(tr.preview.body).toMatch(/^Merhaba Emre, Merino Rib Knit Top fiyatı: size özel /);
    const sv = renderMessage({ ...request('ingrid'), channels: ['whatsapp'], profile: { ...request('ingrid').profile, whatsapp: { lastInboundAt: '2026-11-22T09:00:00Z' } } }, deps).whatsapp!;
    if (sv.suppressed) throw new Error('suppressed');
    expect(sv.preview.buttons!.map((b) => b.title)).toEqual(['Köp nu', 'Inte nu', 'Stoppa erbjudanden']);
  });

  it('a template with four session quick-reply buttons fails to compile with a clear error', async () => {
    const root = mkdtempSync(join(tmpdir(), 'inboxcart-wa-'));
    cpSync(TEMPLATES_DIR, root, { recursive: true });
    const file = join(root, 'price-drop', 'whatsapp.json');
    const spec = JSON.parse(readFileSync(file, 'utf8'));
    spec.session.actions.push({ id: 'x', title: 'Four' });
    writeFileSync(file, JSON.stringify(spec));
    const set = await loadTemplateSet({ root });
    expect(set.failures.get('price-drop')!.map((e) => e.message)).toEqual([
      'price-drop/whatsapp.json: session: quick-reply has 4 buttons; WhatsApp allows 1–3 in a session message. Fix: remove buttons or use a list-picker.',
    ]);
  });

  it('a rendered button title over 20 characters is an error naming the template', async () => {
    const root = mkdtempSync(join(tmpdir(), 'inboxcart-wa-'));
    cpSync(TEMPLATES_DIR, root, { recursive: true });
    const file = join(root, 'locales', 'en.json');
    const strings = JSON.parse(readFileSync(file, 'utf8'));
    strings.priceDrop.wa.buy = 'Buy this lovely thing right now';
    writeFileSync(file, JSON.stringify(strings));
    const set = await loadTemplateSet({ root });
    expect(() => renderMessage({ ...request('sophie'), channels: ['whatsapp'] }, { ...deps, templates: set })).toThrowError(
      "price-drop/whatsapp.json: button 'Buy this lovely thing right now' renders to 31 characters; WhatsApp allows 20.",
    );
  });
});
