import type { CampaignsRepository } from '../campaigns/campaigns-repository.ts';
import type { TemplateSet } from '../templates/template-registry.ts';
import { buildCampaignReport, type CampaignReport } from './campaign-report.ts';
import type { ResultsRepository } from '../store/results-repository.ts';

export type CampaignResults = ReturnType<typeof createCampaignResults>;

/** Campaign reports (GET /v1/reports/campaigns/:id and the preview's Results page) from the stored campaign and its results. */
export function createCampaignResults(o: { campaigns: Pick<CampaignsRepository, 'get' | 'recentIds'>; results: Pick<ResultsRepository, 'variantRows'>; templates: TemplateSet }) {
  async function report(campaignId: string): Promise<CampaignReport | undefined> {
    const campaign = await o.campaigns.get(campaignId);
    if (!campaign) return undefined;
    const { spec } = campaign;
    // Without its own list a campaign splits over the template's variants (render-message.ts).
    const variants = spec.variants ?? o.templates.templates.get(spec.template)?.manifest.variants.map((v) => v.id) ?? [];
    return buildCampaignReport({ id: campaign.id, template: spec.template, status: campaign.status }, variants, await o.results.variantRows(campaignId));
  }
  return {
    report,
    /** The reports of the newest campaigns, newest first. */
    async recent(limit = 20): Promise<CampaignReport[]> {
      const out: CampaignReport[] = [];
      for (const id of await o.campaigns.recentIds(limit)) {
        const r = await report(id);
        if (r) out.push(r);
      }
      return out;
    },
  };
}
