import { lintRecipientValues } from './lint-recipient-values.ts';
import { lineAt, TemplateError } from './template-error.ts';

/**
 * MJML components whose content MJML copies through untouched; Handlebars of any kind is safe
 * inside them. (mj-style and mj-attributes are not here: see the CSS rule below.)
 */
const ENDING_TAGS = new Set([
  'mj-text',
  'mj-button',
  'mj-table',
  'mj-raw',
  'mj-title',
  'mj-preview',
  'mj-navbar-link',
  'mj-accordion-title',
  'mj-accordion-text',
  'mj-social-element',
]);
const HEAD_CSS_TAGS = new Set(['mj-style', 'mj-attributes', 'mj-font', 'mj-breakpoint', 'mj-html-attributes']);

const UNIT_ATTRIBUTE = /(^|-)(width|height|padding|size|radius|spacing|line-height)$|^(padding|border)(-.+)?$/;
const COLOUR_ATTRIBUTE = /(^|-)color$|^border(-.+)?$/;

const TOKEN = /<!--[\s\S]*?-->|<(\/?)(mj-[a-z-]+)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'))?)*)\s*(\/?)>|\{\{[\s\S]*?\}\}+/g;
const ATTRIBUTE = /([^\s=>/]+)\s*=\s*("([^"]*)"|'([^']*)')/g;

/**
 * Rejects the Handlebars-in-MJML patterns that MJML 5.4 mangles without an error (measured):
 * block helpers or values between components are dropped; a token in a unit attribute is
 * replaced by a computed value; a token in a colour attribute fails validation; a token in
 * mj-style makes the minifier throw outside the caller's try/catch. Whatever passes here is
 * then proven by the compiled-vs-naive byte-equality test.
 */
export function lintMjml(
  file: string,
  source: string,
  /** `document` for layouts (a whole <mjml>), `fragment` for content and partials placed between components. */
  mode: 'document' | 'fragment' = 'fragment',
  /** Collects the partials the file includes: inside content components (text) or between components (structure). */
  includes: { inline: Set<string>; structural: Set<string> } = { inline: new Set(), structural: new Set() },
): TemplateError[] {
  const errors: TemplateError[] = [];
  const stack: string[] = mode === 'fragment' ? ['mj-body'] : [];
  let rawUntil: string | undefined;
  const err = (offset: number, problem: string, fix: string) =>
    errors.push(new TemplateError(file, lineAt(source, offset), problem, fix));

  for (const m of source.matchAll(TOKEN)) {
    const offset = m.index;
    const text = m[0];
    if (text.startsWith('<!--')) continue;
    const tagName = m[2];
    if (rawUntil) {
      const partial = /^\{\{>\s*([\w-]+)/.exec(text);
      if (partial) includes.inline.add(partial[1]!);
      if (tagName === rawUntil && m[1] === '/') rawUntil = undefined;
      else if (tagName === undefined && HEAD_CSS_TAGS.has(rawUntil)) {
        err(offset, `Handlebars '${text}' inside <${rawUntil}> breaks MJML's CSS minifier (it throws outside the caller's try/catch).`,
          'use a compile-time brand token [[brand.…]] or a class chosen in the markup instead.');
      }
      continue;
    }
    if (tagName) {
      if (m[1] === '/') {
        stack.pop();
        continue;
      }
      for (const a of (m[3] ?? '').matchAll(ATTRIBUTE)) {
        const name = a[1]!;
        const value = a[3] ?? a[4] ?? '';
        if (!value.includes('{{')) continue;
        if (COLOUR_ATTRIBUTE.test(name)) {
          err(offset, `Handlebars in colour attribute ${name}="${value}" on <${tagName}> fails MJML validation.`,
            'use a literal colour or a brand token such as [[brand.colors.primary]].');
        } else if (UNIT_ATTRIBUTE.test(name)) {
          err(offset, `Handlebars in unit attribute ${name}="${value}" on <${tagName}> is replaced by a value MJML computes.`,
            'use a literal size; choose between fixed layouts with <mj-raw>{{#if}}</mj-raw> blocks.');
        }
      }
      if (m[4] !== '/' && (ENDING_TAGS.has(tagName) || HEAD_CSS_TAGS.has(tagName))) rawUntil = tagName;
      else if (m[4] !== '/') stack.push(tagName);
      continue;
    }
    // A Handlebars token outside every content component.
    const inner = text.replace(/^\{\{~?\s*/, '');
    if (/^>/.test(inner)) {
      const name = /^>\s*([\w-]+)/.exec(inner)?.[1];
      if (name) includes.structural.add(name);
      if (/^>\s*[\w-]+\s+\S/.test(inner.replace(/\s*~?\}\}$/, ''))) {
        err(offset, `partial '${text}' has parameters; MJML partials are inlined as text and take none.`,
          'use the surrounding context ({{#with}} inside <mj-raw>) instead of parameters.');
      }
      continue;
    }
    if (/^[#/^]|^else\b/.test(inner)) {
      err(offset, `block helper '${text}' between MJML components is dropped silently by MJML.`,
        `wrap it in <mj-raw>: <mj-raw>${text}</mj-raw>.`);
    } else if (stack.length > 0 && stack[stack.length - 1] !== 'mjml') {
      err(offset, `'${text}' outside a content component is dropped by MJML.`,
        'put it inside <mj-text>, <mj-button>, <mj-raw> or an attribute.');
    }
  }
  return errors;
}

/**
 * Rules for every Handlebars file: no triple-stash (it would print data unescaped); raw
 * blocks `{{{{raw}}}}` are how AMP's own mustache templates are kept intact; recipient values
 * are printed or tested for presence, never branched on (lint-recipient-values.ts).
 */
export function lintHandlebars(file: string, source: string): TemplateError[] {
  const errors: TemplateError[] = [];
  const withoutRaw = source.replace(/\{\{\{\{raw\}\}\}\}[\s\S]*?\{\{\{\{\/raw\}\}\}\}/g, (s) => s.replace(/[^\n]/g, ' '));
  // {{{x}}}, {{~{x}~}} and {{&x}} all print without escaping.
  for (const m of withoutRaw.matchAll(/\{\{~?\s*(\{(?!\{)|&)/g)) {
    const form = m[1] === '&' ? "'{{&'" : "triple-stash '{{{'";
    errors.push(new TemplateError(file, lineAt(source, m.index), `${form} prints data without escaping.`,
      'use {{value}}; for markup write it in the template, and for AMP mustache use a {{{{raw}}}} block.'));
  }
  errors.push(...lintRecipientValues(file, source));
  return errors;
}
