import { describe, expect, it } from 'vitest';
import { validateAmpEmail } from '../../src/channels/email/amp-validator.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { NOW, renderKit } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();
const hostileProfile = fixtures.profiles.get('hostile')!;
const hostileRecs = fixtures.recommendations.get('hostile')!;

function render(template: string, overrides: Record<string, unknown> = {}) {
  const base = sampleRequest(templates.templates.get(template)!.manifest, fixtures, 'hostile', { now: NOW });
  return renderMessage({ ...base, recommendations: hostileRecs, ...overrides }, deps);
}

describe('hostile data is escaped for each context', () => {
  const result = render('recommendations');
  const { html, amp, text, subject } = result.email!;

  it('never emits markup from data in HTML or AMP', () => {
    for (const doc of [html, amp!]) {
      expect(doc).not.toContain('<script>alert(1)');
      expect(doc).not.toContain('<img src=x onerror');
      expect(doc).not.toContain('"><img');
      expect(doc).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(doc).toContain('&quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
    }
  });

  it('drops javascript: and data: URLs and non-https images from data', () => {
    for (const doc of [html, amp!]) {
      // Text that mentions javascript: is escaped; what matters is that no URL attribute carries it.
      expect(doc).not.toMatch(/(href|src)="\s*(javascript|data):/i);
      expect(doc).not.toMatch(/(href|src)="http:\/\/insecure/i);
      expect(doc).toContain('&lt;a href&#x3D;&quot;javascript:alert(1)&quot;&gt;');
    }
    expect(text).not.toMatch(/^\s*(javascript|data):/m);
    expect(amp).toContain('https://cdn.nordlys.example/img/placeholder.jpg');
    expect(result.warnings).toEqual(
      expect.arrayContaining(['product NL-EVIL-001: link rejected (only http(s) URLs)', 'product NL-EVIL-002: image rejected (images must be https)']),
    );
  });

  it('prints {{…}} and {{{…}}} inside data literally instead of evaluating them', () => {
    expect(text).toContain('{{firstName}} {{{x}}}');
    expect(html).toContain('{{firstName}} {{{x}}}');
  });

  it('keeps the AMP part valid with hostile data', async () => {
    const verdict = await validateAmpEmail(amp!);
    expect(verdict.errors.filter((e) => e.severity === 'ERROR')).toEqual([]);
    expect(verdict.status).toBe('PASS');
  });

  it('keeps the subject a single header line', () => {
    expect(subject).not.toMatch(/[\r\n]/);
    expect(subject.startsWith('"><img src=x onerror=alert(1)><script>alert(1)</script>')).toBe(true);
  });

  it('keeps WhatsApp text plain: no HTML entities, no bidi overrides', () => {
    const rendered = renderMessage(
      {
        ...sampleRequest(templates.templates.get('price-drop')!.manifest, fixtures, 'hostile', { now: NOW }),
        recommendations: hostileRecs,
        profile: { ...hostileProfile, phone: '+46701234567', consent: { email: true, whatsapp: true, sms: false }, whatsapp: { lastInboundAt: '2026-11-22T09:00:00Z' } },
      },
      deps,
    );
    const wa = rendered.whatsapp!;
    if (wa.suppressed) throw new Error('expected a message');
    expect(wa.preview.body).toContain('<script>alert(1)</script>');
    expect(wa.preview.body).not.toContain('&lt;');
    expect(wa.preview.body).not.toContain('\u202E');
  });
});

describe('edge data', () => {
  it('renders a 2,000-character name, emoji and right-to-left text', () => {
    const name = `${'Å'.repeat(1990)}😀 שלום`;
    const base = sampleRequest(templates.templates.get('recommendations')!.manifest, fixtures, 'sophie', { now: NOW });
    const r = renderMessage({ ...base, profile: { ...base.profile, firstName: name } }, deps);
    expect(r.email!.html).toContain(name);
    expect(r.email!.text).toContain(name);
  });

  it('a profile with almost no data still reads well', () => {
    const base = sampleRequest(templates.templates.get('recommendations')!.manifest, fixtures, 'minimal', { now: NOW });
    const r = renderMessage(base, deps);
    expect(r.segments).toEqual([]);
    expect(r.email!.subject).toBe('Picked for you');
    expect(r.email!.text.startsWith('Hi there,\n')).toBe(true);
    expect(r.email!.html).not.toMatch(/undefined|null|NaN/);
  });
});

describe('the json helper (inline amp-state data)', () => {
  it('cannot close the script element it sits in', async () => {
    const { createHandlebarsEnv } = await import('../../src/templates/handlebars-env.ts');
    const hb = createHandlebarsEnv();
    const out = hb.compile('<script type="application/json">{{json value}}</script>')({ value: { name: '</script><script>alert(1)</script> & \u2028' } });
    expect(out).toBe('<script type="application/json">{"name":"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e \\u0026 \\u2028"}</script>');
  });
});
