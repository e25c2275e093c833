import { formatMinor } from '../../commerce/money.ts';
import type { CampaignReport, VariantResult } from '../../reports/campaign-report.ts';
import { escapeHtml } from './preview-page.ts';

/** The funnel the chart draws for each variant, in order. */
const METRICS = [
  ['messagesRendered', 'Rendered'],
  ['uniqueOpens', 'Opened'],
  ['uniqueClicks', 'Clicked'],
  ['cartAdds', 'Cart adds'],
  ['orders', 'Orders'],
] as const satisfies readonly (readonly [keyof VariantResult, string])[];

const BAR = { label: 110, width: 360, height: 16, gap: 4, value: 60 };
const COLORS = ['#2f6fde', '#e07b24', '#3a9b5c', '#a94fc4'];

const percent = (rate: number | null) => (rate === null ? '–' : `${(rate * 100).toFixed(2)}%`);
const signedPoints = (d: number) => `${d >= 0 ? '+' : '−'}${Math.abs(d * 100).toFixed(2)} pp`;

/**
 * One campaign's funnel as inline SVG: a group per metric, a bar per variant, lengths relative to
 * the campaign's largest count (the rendered messages), so variants compare at a glance. Each
 * bar names its variant and metric in data attributes and its count in a text label.
 */
export function resultsChart(report: CampaignReport): string {
  const variants = report.variants;
  const max = Math.max(1, ...variants.flatMap((v) => METRICS.map(([key]) => v[key] as number)));
  const groupHeight = variants.length * (BAR.height + BAR.gap) + 10;
  const height = METRICS.length * groupHeight;
  const width = BAR.label + BAR.width + BAR.value;
  const rows = METRICS.map(([key, label], m) => {
    const top = m * groupHeight;
    const bars = variants.map((v, i) => {
      const count = v[key] as number;
      const y = top + i * (BAR.height + BAR.gap);
      const w = Math.round((count / max) * BAR.width);
      const name = v.variant ?? 'all';
      return (
        `<rect class="bar" data-variant="${escapeHtml(name)}" data-metric="${key}" data-value="${count}" x="${BAR.label}" y="${y}" width="${w}" height="${BAR.height}" fill="${COLORS[i % COLORS.length]}"><title>${escapeHtml(`${name} · ${label}: ${count}`)}</title></rect>` +
        `<text x="${BAR.label + w + 4}" y="${y + BAR.height - 4}" font-size="12">${count}</text>`
      );
    });
    return `<text x="0" y="${top + BAR.height - 4}" font-size="12" font-weight="600">${label}</text>${bars.join('')}`;
  });
  const title = `Funnel of campaign ${report.campaignId} by variant`;
  return `<svg class="chart" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(title)}</title>${rows.join('')}</svg>`;
}

function legend(report: CampaignReport): string {
  return report.variants
    .map((v, i) => `<span class="key"><span class="swatch" style="background:${COLORS[i % COLORS.length]}"></span>${escapeHtml(v.variant ?? 'all recipients')}</span>`)
    .join(' ');
}

function table(report: CampaignReport): string {
  const head = '<tr><th>Variant</th><th>Rendered</th><th>Opens (unique)</th><th>Clicks (unique)</th><th>Cart adds</th><th>Orders</th><th>Units</th><th>Revenue</th><th>Conversion</th></tr>';
  const body = report.variants
    .map((v) => {
      const revenue = v.revenue.map((r) => formatMinor(r.amountMinor, r.currency, 'en')).join(', ') || '–';
      return `<tr data-variant="${escapeHtml(v.variant ?? 'all')}"><th>${escapeHtml(v.variant ?? 'all')}</th><td>${v.messagesRendered}</td><td>${v.opens} (${v.uniqueOpens})</td><td>${v.clicks} (${v.uniqueClicks})</td><td>${v.cartAdds}</td><td class="orders">${v.orders}</td><td>${v.units}</td><td class="revenue">${escapeHtml(revenue)}</td><td class="conversion">${percent(v.conversionRate)}</td></tr>`;
    })
    .join('');
  return `<table class="results">${head}${body}</table>`;
}

function abTest(report: CampaignReport): string {
  const t = report.abTest;
  if (!t) return '';
  const verdict = t.low > 0 || t.high < 0 ? 'the difference is significant at 95%' : 'no significant difference at 95%';
  return `<p class="abtest">${escapeHtml(t.treatment)} vs ${escapeHtml(t.control)}: ${signedPoints(t.difference)} conversion (95% CI ${signedPoints(t.low)} to ${signedPoints(t.high)}) — ${verdict}${t.reliable ? '' : ' (few conversions: the interval is rough)'}.</p>`;
}

/** The preview's Results page: every recent campaign with its chart and numbers, server-rendered (no script, no external assets). */
export function resultsPage(o: { base: string; reports: readonly CampaignReport[] }): string {
  const sections = o.reports.length
    ? o.reports
        .map(
          (r) => `<section class="campaign" data-campaign="${escapeHtml(r.campaignId)}" aria-label="Campaign ${escapeHtml(r.campaignId)}">
<h2>${escapeHtml(r.campaignId)} <small>${escapeHtml(r.template)} · ${escapeHtml(r.status)}</small></h2>
<p class="legend">${legend(r)}</p>
${resultsChart(r)}
${table(r)}
${abTest(r)}
</section>`,
        )
        .join('\n')
    : '<p class="empty">No campaigns yet. POST /v1/campaigns starts one.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Results · inboxcart</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2433; }
header { display: flex; gap: 16px; align-items: baseline; padding: 12px 20px; background: #f3f5f9; border-bottom: 1px solid #dde2ea; }
header h1 { font-size: 18px; margin: 0; }
main { padding: 8px 20px 40px; }
.campaign { margin: 20px 0; padding-bottom: 20px; border-bottom: 1px solid #e5e8ee; }
.campaign h2 { font-size: 16px; margin: 0 0 6px; }
.campaign h2 small { font-weight: 400; color: #5b6475; }
.chart { display: block; max-width: 100%; height: auto; margin: 8px 0; }
.key { margin-right: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
table.results { border-collapse: collapse; margin-top: 8px; }
table.results th, table.results td { border: 1px solid #dde2ea; padding: 4px 8px; text-align: right; }
table.results tr > th:first-child { text-align: left; }
</style>
</head>
<body>
<header><h1>inboxcart <small>campaign results</small></h1><a href="${escapeHtml(o.base)}/">Templates</a></header>
<main>
${sections}
</main>
</body>
</html>
`;
}
