import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompileCache } from '../../src/templates/compile-cache.ts';
import { loadTemplateSet } from '../../src/templates/template-registry.ts';
import { TEMPLATES_DIR } from '../support/render-kit.ts';

describe('compiled templates are cached by content hash', () => {
  it('a restart reads compiled templates from disk instead of running MJML again', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'inboxcart-cache-'));
    const first = new CompileCache(cacheDir);
    const a = await loadTemplateSet({ root: TEMPLATES_DIR }, first);
    expect(first.stats.misses).toBe(a.templates.size);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.json'))).toHaveLength(a.templates.size);

    const second = new CompileCache(cacheDir);
    const b = await loadTemplateSet({ root: TEMPLATES_DIR }, second);
    expect(second.stats).toEqual({ memoryHits: 0, diskHits: a.templates.size, misses: 0 });
    expect([...b.templates.keys()]).toEqual([...a.templates.keys()]);
  });

  it('editing a template, a shared partial or a locale string changes the hash of what uses it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'inboxcart-tpl-'));
    cpSync(TEMPLATES_DIR, root, { recursive: true });
    const cache = new CompileCache(undefined);
    const before = await loadTemplateSet({ root }, cache);
    const file = join(root, 'price-drop', 'email.mjml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('<mj-section padding="8px 0">', '<mj-section padding="10px 0">'));
    const after = await loadTemplateSet({ root }, cache);
    expect(after.templates.get('price-drop')!.hash).not.toBe(before.templates.get('price-drop')!.hash);
    expect(after.templates.get('recommendations')!.hash).toBe(before.templates.get('recommendations')!.hash);

    // A shared partial: every template that includes it recompiles, the others do not.
    const footer = join(root, 'partials', 'amp-footer.hbs');
    writeFileSync(footer, readFileSync(footer, 'utf8').replace('<div class="footer">', '<div class="footer" role="contentinfo">'));
    const refooted = await loadTemplateSet({ root }, cache);
    expect(refooted.templates.get('recommendations')!.hash).not.toBe(after.templates.get('recommendations')!.hash);

    const en = join(root, 'locales', 'en.json');
    writeFileSync(en, readFileSync(en, 'utf8').replace('"Shop now"', '"Shop the edit"'));
    const relabelled = await loadTemplateSet({ root }, cache);
    expect(relabelled.templates.get('recommendations')!.hash).not.toBe(refooted.templates.get('recommendations')!.hash);
  });
});
