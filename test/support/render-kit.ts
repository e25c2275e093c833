import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config.ts';
import { DEFAULT_THRESHOLDS } from '../../src/personalize/segment-thresholds.ts';
import { createRenderDeps } from '../../src/render/create-renderer.ts';
import type { RenderDeps } from '../../src/render/render-message.ts';
import { loadFixtures, type Fixtures } from '../../src/validate/template-fixtures.ts';
import { loadTemplateSet, type TemplateSet } from '../../src/templates/template-registry.ts';
import { NOW } from './test-clock.ts';

export { NOW };
export const TEST_KEYS = [{ id: 'k1', secret: 'test-secret-test-secret-test-secret-0001' }];
export const TEMPLATES_DIR = join(PROJECT_ROOT, 'templates');
export const FIXTURES_DIR = join(PROJECT_ROOT, 'fixtures');

export interface RenderKit {
  templates: TemplateSet;
  fixtures: Fixtures;
  deps: RenderDeps;
}

let kit: Promise<RenderKit> | undefined;

/** Templates compiled once per test file, fixtures, and render deps on a fixed clock. */
export function renderKit(): Promise<RenderKit> {
  kit ??= (async () => {
    const templates = await loadTemplateSet({ root: TEMPLATES_DIR });
    const fixtures = loadFixtures(FIXTURES_DIR);
    const deps = createRenderDeps({
      config: { publicBaseUrl: 'https://mail.nordlys.example', tokenKeys: TEST_KEYS, tokenTtlDays: 30, unsubscribeTtlDays: 365, thresholds: DEFAULT_THRESHOLDS },
      templates,
      catalog: (sku) => fixtures.catalog.get(sku),
      now: () => new Date(NOW),
    });
    return { templates, fixtures, deps };
  })();
  return kit;
}

export const LOCALES = ['en', 'tr', 'sv'] as const;
