import { describe, expect, it } from 'vitest';
import { validateAmpEmail } from '../../src/channels/email/amp-validator.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { listTemplateNames } from '../../src/templates/read-template-sources.ts';
import { LOCALES, NOW, renderKit, TEMPLATES_DIR } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();

const AMP_BUDGET = 100_000; // Gmail and the big senders hold AMP parts to 100 KB (spec: 200,000 bytes).
const HTML_BUDGET = 102_000; // Gmail clips HTML at about 102 KB.
const CSS_BUDGET = 75_000; // validator-css.protoascii: max_bytes 75000 for <style amp-custom>.

describe('every template × fixture profile × locale', () => {
  it('compiles every template without failures', () => {
    expect([...templates.failures.keys()]).toEqual([]);
    // Every template folder compiled, none silently skipped.
    expect([...templates.templates.keys()]).toEqual(listTemplateNames(TEMPLATES_DIR));
  });

  for (const [name, compiled] of templates.templates) {
    if (!compiled.ampSource) continue;
    for (const profile of fixtures.profiles.keys()) {
      it(`${name} / ${profile}: AMP passes the official validator in en, tr and sv and stays within budgets`, async () => {
        for (const locale of LOCALES) {
          const request = sampleRequest(compiled.manifest, fixtures, profile, { locale, now: NOW });
          const result = renderMessage({ ...request, channels: ['email'] }, deps);
          const email = result.email!;
          const verdict = await validateAmpEmail(email.amp!);
          expect(verdict.errors.filter((e) => e.severity === 'ERROR'), `${name}/${profile}/${locale}`).toEqual([]);
          expect(verdict.status).toBe('PASS');
          expect(Buffer.byteLength(email.amp!)).toBeLessThan(AMP_BUDGET);
          expect(Buffer.byteLength(email.html)).toBeLessThan(HTML_BUDGET);
          const css = /<style amp-custom>([\s\S]*?)<\/style>/.exec(email.amp!)?.[1] ?? '';
          expect(Buffer.byteLength(css)).toBeLessThan(CSS_BUDGET);
          expect(email.amp).toMatch(/^<!doctype html>\n<html ⚡4email data-css-strict lang="/);
          expect(email.amp).not.toMatch(/-latest\.js/);
          expect(email.text.length).toBeGreaterThan(50);
        }
      });
    }
  }
});
