import type { CampaignProgress } from '../campaigns/campaign-schema.ts';

/**
 * One line for a campaign's progress: a bar of the messages through (delivered, suppressed or
 * failed) out of all recipient × channel messages, and the counts behind it.
 *
 * @example
 * progressLine(progress, 20) // 'wb-1 running [##########----------]  50% 2/4 · 1 delivered · 1 suppressed · 0 failed · 1 deferred'
 */
export function progressLine(p: CampaignProgress, width = 30): string {
  const through = p.delivered + p.suppressed.total + p.failed.total;
  const share = p.total === 0 ? 1 : through / p.total;
  const filled = Math.round(share * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const percent = `${Math.floor(share * 100)}%`.padStart(4);
  return `${p.id} ${p.status} ${bar} ${percent} ${through}/${p.total} · ${p.delivered} delivered · ${p.suppressed.total} suppressed · ${p.failed.total} failed · ${p.deferred} deferred`;
}

const FINISHED = new Set(['completed', 'cancelled']);

/**
 * `inboxcart campaign status <id> [--url U] [--watch]`: the progress from GET /v1/campaigns/:id
 * of a running service (INBOXCART_URL, default http://localhost:3000; INBOXCART_API_KEY as the
 * bearer key). With --watch it redraws the line every second until the campaign is completed or
 * cancelled.
 */
export async function commandCampaignStatus(o: { id: string; url: string; apiKey?: string; watch: boolean; intervalMs?: number; out?: NodeJS.WriteStream }): Promise<number> {
  const out = o.out ?? process.stdout;
  const redraw = o.watch && out.isTTY;
  for (;;) {
    const res = await fetch(`${o.url.replace(/\/+$/, '')}/v1/campaigns/${encodeURIComponent(o.id)}`, { headers: o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {} });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      console.error(body.error?.message ?? `GET /v1/campaigns/${o.id} answered ${res.status}`);
      return res.status === 404 ? 1 : 2;
    }
    const progress = (await res.json()) as CampaignProgress;
    const line = progressLine(progress);
    out.write(redraw ? `\r\x1b[2K${line}` : `${line}\n`);
    if (!o.watch || FINISHED.has(progress.status)) {
      if (redraw) out.write('\n');
      return 0;
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 1000));
  }
}
