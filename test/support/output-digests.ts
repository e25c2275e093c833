/**
 * npm run digests [-- --update]: a sha256 digest of every part of every template × fixture
 * profile × locale, rendered on the test clock with fixed message ids, through the full render
 * and through the cohort cache (the second recipient of a cohort is served from it), plus the
 * JSON the HTTP service sends for it. The golden file (test/render/output-digests.json) was
 * written on the code before the render pipeline refactor (issue 16), so a refactor that changes
 * one byte of any output fails test/render/output-digests.test.ts, naming where.
 *
 * Without --update it compares and exits 1 on a difference; with it, it rewrites the file.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CohortCache } from '../../src/render/cohort-cache.ts';
import { encodeRenderResult } from '../../src/render/encode-result.ts';
import { renderMessage, type RenderDeps, type RenderResult } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { NOW, renderKit } from './render-kit.ts';

export const GOLDEN_FILE = fileURLToPath(new URL('../render/output-digests.json', import.meta.url));

/** `template/profile/locale` → `full|cohort` → part → digest. */
export type Digests = Record<string, Record<string, Record<string, string>>>;

const PARTS = ['subject', 'preheader', 'amp', 'html', 'text', 'headers'] as const;

function digest(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  // 80 bits of the sha256: plenty to see a change, and the golden file stays small enough to review.
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}

function partDigests(result: RenderResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of PARTS) out[part] = digest(result.email?.[part]);
  out.whatsapp = digest(result.whatsapp);
  out.meta = digest({ id: result.id, template: result.template, variant: result.variant, locale: result.locale, segments: result.segments, warnings: result.warnings });
  out.json = digest(Buffer.concat(encodeRenderResult(result, '{"line":1,"ok":true,"result":', '}\n').pieces).toString('utf8'));
  return out;
}

export async function computeDigests(): Promise<Digests> {
  const { templates, fixtures, deps } = await renderKit();
  const full: RenderDeps = { ...deps, cohorts: undefined };
  const out: Digests = {};
  for (const [name, compiled] of [...templates.templates].sort(([a], [b]) => a.localeCompare(b))) {
    for (const profile of [...fixtures.profiles.keys()].sort()) {
      for (const locale of [...templates.shared.locales.keys()].sort()) {
        const request = sampleRequest(compiled.manifest, fixtures, profile, { locale, now: NOW });
        const as = (messageId: string) => ({ ...request, context: { ...request.context, messageId } });
        const cached: RenderDeps = { ...deps, cohorts: new CohortCache() };
        // The first recipient fills the cohort; the second is served from it.
        renderMessage({ ...as('msg-warm'), profile: { ...request.profile, id: `${request.profile.id}-warm` } }, cached);
        out[`${name}/${profile}/${locale}`] = {
          full: partDigests(renderMessage(as('msg-1'), full)),
          cohort: partDigests(renderMessage(as('msg-1'), cached)),
        };
      }
    }
  }
  return out;
}

/** Every `key/path/part` whose digest differs from the golden file's (or is missing in one). */
export function differences(golden: Digests, actual: Digests): string[] {
  const diffs: string[] = [];
  for (const key of new Set([...Object.keys(golden), ...Object.keys(actual)])) {
    for (const path of new Set([...Object.keys(golden[key] ?? {}), ...Object.keys(actual[key] ?? {})])) {
      const g = golden[key]?.[path] ?? {};
      const a = actual[key]?.[path] ?? {};
      for (const part of new Set([...Object.keys(g), ...Object.keys(a)])) {
        if (g[part] !== a[part]) diffs.push(`${key} ${path} ${part}`);
      }
    }
  }
  return diffs;
}

export function readGolden(): Digests {
  return JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as Digests;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const actual = await computeDigests();
  if (process.argv.includes('--update')) {
    writeFileSync(GOLDEN_FILE, `${JSON.stringify(actual, null, 1)}\n`);
    console.log(`wrote ${Object.keys(actual).length} template/profile/locale digests to ${GOLDEN_FILE}`);
  } else {
    const diffs = differences(readGolden(), actual);
    for (const d of diffs) console.log(`differs: ${d}`);
    console.log(diffs.length === 0 ? 'all digests match' : `${diffs.length} digests differ`);
    process.exitCode = diffs.length === 0 ? 0 : 1;
  }
}
