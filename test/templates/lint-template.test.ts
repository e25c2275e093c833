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

describe('recipient values are printed or tested, never branched on (the cohort rule)', () => {
  const problems = (file: string, src: string) => lintHandlebars(file, src).map((e) => e.message);
  const FIX =
    'Fix: print it ({{firstName}}), pass it to t ({{t "key" name=firstName}}) or test it ({{#if firstName}}); decide anything else in the data the campaign sends (a segment, a flag) instead.';

  it('accepts printing, interpolation and presence tests, as the shipped templates use them', () => {
    const src = [
      '{{firstName}} {{@root.firstName}} {{links.unsubscribe}} {{@root.amp.checkout}}',
      '{{#if firstName}}{{t "greeting.named" name=firstName}}{{else}}{{t "greeting.anonymous"}}{{/if}}',
      '{{t (or (and @root.firstName "greeting.named") "greeting.anonymous") name=@root.firstName}}',
      '{{#if (and segments.vip firstName)}}VIP{{/if}}{{#unless (not message.id)}}x{{/unless}}',
      '{{#each products}}{{title}} {{../firstName}}{{/each}}',
    ].join('\n');
    expect(problems('t/email.mjml', src)).toEqual([]);
  });

  it('refuses a branch on a first name, with file, line and the fix', () => {
    const src = '<mj-text>\nHi\n{{#if (eq firstName "Ingrid")}}Hej Ingrid{{/if}}\n</mj-text>';
    expect(problems('recommendations/email.mjml', src)).toEqual([
      `recommendations/email.mjml:3: 'eq' uses the recipient value 'firstName' beyond printing it or testing that it is there: the cohort cache renders one email for many recipients with a marker in its place, so the cached email would differ from the full render. ${FIX}`,
    ]);
  });

  it.each([
    ['a transformation', '{{truncate firstName 3}}', "'truncate'", 'firstName'],
    ['a value chosen as the string key', '{{t firstName}}', "'t'", 'firstName'],
    ['scoping on it', '{{#with @root.firstName}}{{this}}{{/with}}', "'with'", 'firstName'],
    ['a token-bearing URL handed to a helper', '{{link amp.checkout}}', "'link'", 'amp.checkout'],
    ['the message id compared', '{{#if (eq message.id "m-1")}}x{{/if}}', "'eq'", 'message.id'],
    ['a partial parameter', '{{> greeting name=firstName}}', 'the partial parameter name=', 'firstName'],
    ['a block on the value itself', '{{#firstName}}x{{/firstName}}', "the block '{{#firstName}}'", 'firstName'],
  ])('refuses %s', (_what, src, use, value) => {
    expect(lintHandlebars('t/email.txt.hbs', src).map((e) => e.problem)).toEqual([
      `${use} uses the recipient value '${value}' beyond printing it or testing that it is there: the cohort cache renders one email for many recipients with a marker in its place, so the cached email would differ from the full render.`,
    ]);
  });

  it('reads the Handlebars inside WhatsApp JSON strings, with the line of the string', () => {
    const src = '{\n  "types": {\n    "twilio/text": {\n      "body": "{{#if (eq firstName \\"Ingrid\\")}}Hej{{/if}}"\n    }\n  }\n}';
    expect(lintHandlebars('t/whatsapp.json', src).map((e) => [e.line, e.problem.split(' beyond')[0]])).toEqual([[4, "'eq' uses the recipient value 'firstName'"]]);
  });

  it('a template that branches on the first name does not compile; the others still do', async () => {
    const root = mkdtempSync(join(tmpdir(), 'inboxcart-lint-'));
    cpSync(TEMPLATES_DIR, root, { recursive: true });
    const file = join(root, 'recommendations', 'email.mjml');
    const source = readFileSync(file, 'utf8');
    const at = source.indexOf('</mj-text>');
    writeFileSync(file, `${source.slice(0, at)}{{#if (eq firstName "Ingrid")}}Hej Ingrid!{{/if}}${source.slice(at)}`);
    const set = await loadTemplateSet({ root });
    expect(set.templates.has('recommendations')).toBe(false);
    expect(set.templates.has('price-drop')).toBe(true);
    const line = source.slice(0, at).split('\n').length;
    expect(set.failures.get('recommendations')!.map((e) => e.message)).toEqual([
      `recommendations/email.mjml:${line}: 'eq' uses the recipient value 'firstName' beyond printing it or testing that it is there: the cohort cache renders one email for many recipients with a marker in its place, so the cached email would differ from the full render. ${FIX}`,
    ]);
  });
});
