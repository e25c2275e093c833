import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintHandlebars, lintMjml } from '../../src/templates/lint-template.ts';
import { loadTemplateSet } from '../../src/templates/template-registry.ts';
import { TEMPLATES_DIR } from '../support/render-kit.ts';

const messages = (errors: { message: string }[]) => errors.map((e) => e.message);

describe('MJML template lint (traps measured on MJML 5.4)', () => {
  it('rejects a block helper between sections, naming file, line and the mj-raw fix', () => {
    const src = '<mj-section><mj-column><mj-text>a</mj-text></mj-column></mj-section>\n{{#if vip}}\n<mj-section></mj-section>\n{{/if}}';
    expect(messages(lintMjml('t/email.mjml', src))).toEqual([
      "t/email.mjml:2: block helper '{{#if vip}}' between MJML components is dropped silently by MJML. Fix: wrap it in <mj-raw>: <mj-raw>{{#if vip}}</mj-raw>.",
      "t/email.mjml:4: block helper '{{/if}}' between MJML components is dropped silently by MJML. Fix: wrap it in <mj-raw>: <mj-raw>{{/if}}</mj-raw>.",
    ]);
  });

  it('accepts block helpers inside mj-raw and inside content components', () => {
    const src = '<mj-raw>{{#each products}}</mj-raw><mj-section><mj-column><mj-text>{{#if x}}{{title}}{{/if}}</mj-text><mj-button href="{{url}}">Go</mj-button></mj-column></mj-section><mj-raw>{{/each}}</mj-raw>';
    expect(lintMjml('t/email.mjml', src)).toEqual([]);
  });

  it('rejects a token in a unit attribute', () => {
    const errors = lintMjml('t/email.mjml', '<mj-section>\n<mj-column width="{{w}}px"></mj-column></mj-section>');
    expect(messages(errors)).toEqual([
      't/email.mjml:2: Handlebars in unit attribute width="{{w}}px" on <mj-column> is replaced by a value MJML computes. Fix: use a literal size; choose between fixed layouts with <mj-raw>{{#if}}</mj-raw> blocks.',
    ]);
  });

  it('rejects a token in a colour attribute and points to brand tokens', () => {
    const errors = lintMjml('t/email.mjml', '<mj-section background-color="{{brandColour}}"></mj-section>');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('colour attribute background-color');
    expect(errors[0]!.fix).toContain('[[brand.colors.primary]]');
  });

  it('rejects a token in mj-style, which makes the CSS minifier throw', () => {
    const errors = lintMjml('layouts/x.mjml', '<mjml><mj-head>\n<mj-style>\n.a { color: {{c}}; }\n</mj-style></mj-head></mjml>', 'document');
    expect(errors.map((e) => [e.file, e.line])).toEqual([['layouts/x.mjml', 3]]);
    expect(errors[0]!.message).toContain('inside <mj-style>');
  });

  it('rejects triple-stash but allows {{{{raw}}}} blocks for amp-mustache', () => {
    expect(messages(lintHandlebars('t/email.amp.hbs', 'a\n<p>{{{firstName}}}</p>'))).toEqual([
      "t/email.amp.hbs:2: triple-stash '{{{' prints data without escaping. Fix: use {{value}}; for markup write it in the template, and for AMP mustache use a {{{{raw}}}} block.",
    ]);
    expect(lintHandlebars('t/email.amp.hbs', '{{{{raw}}}}<p>{{name}}</p>{{{{/raw}}}}')).toEqual([]);
    // The other unescaped forms: whitespace-controlled triple-stash and the ampersand.
    expect(lintHandlebars('t/email.amp.hbs', '<p>{{~{firstName}~}}</p>').map((e) => e.problem)).toEqual(["triple-stash '{{{' prints data without escaping."]);
    expect(lintHandlebars('t/email.amp.hbs', '<p>{{& firstName}}</p>').map((e) => e.problem)).toEqual(["'{{&' prints data without escaping."]);
  });

  it('a broken template is reported by name while the others still compile', async () => {
    const root = mkdtempSync(join(tmpdir(), 'inboxcart-lint-'));
    cpSync(TEMPLATES_DIR, root, { recursive: true });
    const file = join(root, 'price-drop', 'email.mjml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n{{#if segments.vip}}<mj-section></mj-section>{{/if}}\n`);
    const set = await loadTemplateSet({ root });
    expect(set.templates.has('price-drop')).toBe(false);
    expect(set.templates.has('recommendations')).toBe(true);
    const errors = set.failures.get('price-drop')!;
    expect(errors[0]!.file).toBe('price-drop/email.mjml');
    expect(errors[0]!.message).toMatch(/^price-drop\/email\.mjml:\d+: block helper '\{\{#if segments\.vip\}\}'/);
  });
});
