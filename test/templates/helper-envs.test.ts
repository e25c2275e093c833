import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { createHandlebarsEnv } from '../../src/templates/handlebars-env.ts';
import { envForUnit, recordPartial } from '../../src/templates/helper-envs.ts';

type Spec = Parameters<typeof Handlebars.template>[0];
const known = (hb: typeof Handlebars) => ({ knownHelpers: Object.fromEntries(Object.keys(hb.helpers).map((h) => [h, true])), knownHelpersOnly: true as const });

function unit(hb: typeof Handlebars, source: string) {
  const spec = hb.precompile(source, { preventIndent: true, ...known(hb) }) as string;
  const templateSpec = new Function(`return ${spec}`)() as Spec & { usePartial?: boolean };
  const env = envForUnit(hb, spec, templateSpec.usePartial === true);
  return { env, render: env.template(templateSpec), full: hb.template(templateSpec) };
}

describe('helper environments cut to what a unit calls', () => {
  it('runs a unit with only the helpers its code names, and renders as the full environment does', () => {
    const hb = createHandlebarsEnv();
    const { env, render, full } = unit(hb, '{{#if (gt n 1)}}{{t "k"}}{{/if}}{{or a "b"}}');
    expect(Object.keys(env.helpers).sort()).toEqual(['blockHelperMissing', 'gt', 'helperMissing', 'if', 'or', 't']);
    const root = { n: 2, strings: new Map([['k', 'K & <K>']]), fallbackStrings: new Map(), warnings: [] };
    expect(render(root)).toBe(full(root));
    expect(render(root)).toBe('K &amp; &lt;K&gt;b');
    // One environment per helper set.
    expect(unit(hb, '{{or x "y"}}{{#if (gt m 0)}}{{t "j"}}{{/if}}').env).toBe(env);
  });

  it('gives a unit that calls partials every helper the partials name', () => {
    const hb = createHandlebarsEnv();
    const partial = '<b>{{money price}}</b>{{#each sizes}}{{truncate size 3}}{{/each}}';
    hb.registerPartial('card', hb.compile(partial));
    recordPartial(hb, partial);
    const { env, render, full } = unit(hb, '{{> card}}{{t "k"}}');
    for (const name of ['money', 'each', 'truncate', 't']) expect(env.helpers, name).toHaveProperty(name);
    expect(env.helpers).not.toHaveProperty('date');
    const root = { price: 12.5, currency: 'EUR', intlLocale: 'en', sizes: [{ size: 'Small' }], strings: new Map([['k', 'K']]), fallbackStrings: new Map(), warnings: [] };
    expect(render(root)).toBe(full(root));
    expect(render(root)).toContain('€12.50');
  });

  it('keeps the full environment for code that reaches helpers any other way', () => {
    const hb = createHandlebarsEnv();
    const spec = hb.precompile('{{t "k"}}', known(hb)) as string;
    const odd = spec.replace('lookupProperty(helpers,"t")', 'helpers["t"]');
    expect(envForUnit(hb, odd, false)).toBe(hb);
    expect(envForUnit(hb, spec, false)).not.toBe(hb);
  });
});
