import { describe, expect, it } from 'vitest';
import { buildCampaignReport } from '../../src/reports/campaign-report.ts';
import type { VariantRows } from '../../src/store/results-repository.ts';

const campaign = { id: 'c1', template: 'win-back', status: 'completed' as const };
const empty = (): VariantRows => ({ rendered: new Map(), events: new Map(), orders: new Map() });

describe('buildCampaignReport', () => {
  it('a campaign without variants is one row (variant null) and no A/B test; revenue per currency in its own minor units', () => {
    const rows = empty();
    rows.rendered.set(null, 4);
    rows.events.set(null, new Map([['open', { n: 5, messages: 3, quantity: 0 }]]));
    rows.orders.set(null, { converted: 2, units: 3, byCurrency: new Map([['SEK', { orders: 1, revenueMinor: 129900 }], ['JPY', { orders: 1, revenueMinor: 4500 }]]) });
    const report = buildCampaignReport(campaign, [], rows);
    expect(report.abTest).toBeNull();
    expect(report.variants).toEqual([
      {
        variant: null,
        messagesRendered: 4,
        opens: 5,
        uniqueOpens: 3,
        clicks: 0,
        uniqueClicks: 0,
        cartAdds: 0,
        cartAddUnits: 0,
        orders: 2,
        units: 3,
        // Sorted by currency; JPY has no minor unit (money.ts).
        revenue: [
          { currency: 'JPY', amount: 4500, amountMinor: 4500, orders: 1 },
          { currency: 'SEK', amount: 1299, amountMinor: 129900, orders: 1 },
        ],
        conversions: 2,
        conversionRate: 0.5,
      },
    ]);
  });

  it('two variants before any render: both listed with nothing, no rate and no interval', () => {
    const report = buildCampaignReport(campaign, ['A', 'B'], empty());
    expect(report.variants.map((v) => [v.variant, v.messagesRendered, v.conversionRate])).toEqual([
      ['A', 0, null],
      ['B', 0, null],
    ]);
    expect(report.abTest).toBeNull();
  });
});
