import type { Request, Response } from 'express';
import { reportParamsSchema } from '../../reports/campaign-report.ts';
import type { CampaignResults } from '../../reports/campaign-results.ts';
import { fieldsFromZod, HttpError } from '../http-error.ts';

/** GET /v1/reports/campaigns/:campaignId — per variant: rendered, opens, clicks, cart adds, orders, units, revenue, conversion, and the A/B difference. */
export function reportRoutes(o: { results: CampaignResults }) {
  return {
    campaign: async (req: Request, res: Response) => {
      const parsed = reportParamsSchema.safeParse(req.params);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), 'The path');
      const report = await o.results.report(parsed.data.campaignId);
      if (!report) throw new HttpError(404, 'unknown_campaign', `No campaign with id '${parsed.data.campaignId}'. POST /v1/campaigns creates it; GET /v1/campaigns/:id shows its progress.`);
      res.json(report);
    },
  };
}
