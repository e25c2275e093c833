import { describe, expect, it } from 'vitest';
import { CohortCache } from '../../src/render/cohort-cache.ts';
import { HitRateGate } from '../../src/render/hit-rate-gate.ts';
import { renderMessage, type RenderDeps } from '../../src/render/render-message.ts';
import { personalCatalog, personalRequests } from '../support/personal-campaign.ts';
import { NOW, renderKit } from '../support/render-kit.ts';

const { templates, deps } = await renderKit();
const catalogList = personalCatalog(3);
const catalog = new Map(catalogList.map((p) => [p.sku, p]));
const personal = (count: number, seed: number) =>
  personalRequests(catalogList, { seed, count, templates: [templates.templates.get('recommendations')!.manifest], now: NOW }).map((r) => ({ ...r, channels: ['email' as const] }));

describe('cohort gate: the cohort cache is skipped when it does not pay', () => {
  it('closes after a window of misses, probes one render in 16, and reopens when probes hit', () => {
    const gate = new HitRateGate({ window: 64, minHitRate: 0.25, probeEvery: 16 });
    for (let i = 0; i < 64; i++) {
      expect(gate.tries()).toBe(true);
      gate.record(false);
    }
    expect(gate.isOpen).toBe(false);
    const tried = Array.from({ length: 32 }, () => gate.tries()).filter(Boolean).length;
    expect(tried).toBe(2);
    // A closed gate keeps a miss only the second time a probe meets its key.
    expect(gate.admit('k')).toBe(false);
    expect(gate.admit('k')).toBe(true);
    for (let i = 0; i < 64; i++) gate.record(true);
    expect(gate.isOpen).toBe(true);
    expect(gate.admit('other')).toBe(true);
  });

  it('recipients with their own products get the full render, byte for byte, and the gate closes', () => {
    const cohorts = new CohortCache();
    const cached: RenderDeps = { ...deps, catalog: (sku) => catalog.get(sku), cohorts };
    const uncached: RenderDeps = { ...cached, cohorts: undefined };
    const requests = personal(300, 7);
    for (const r of requests) expect(renderMessage(r, cached).email).toEqual(renderMessage(r, uncached).email);
    expect(cohorts.stats.hits).toBe(0);
    expect(cohorts.gate.isOpen).toBe(false);
    // 64 lookups decide; then one render in 16 probes.
    expect(cohorts.stats.misses).toBe(64 + Math.floor((300 - 64) / 16));
    expect(cohorts.stats.skipped).toBe(300 - cohorts.stats.misses);
  });
});
