import type { Request, Response } from 'express';
import { UnknownAudienceError } from '../../campaigns/audience.ts';
import { campaignSchema } from '../../campaigns/campaign-schema.ts';
import type { Campaigns } from '../../campaigns/campaign-service.ts';
import { fieldsFromZod, HttpError } from '../http-error.ts';

/**
 * POST /v1/campaigns, GET /v1/campaigns/:id and POST /v1/campaigns/:id/pause|resume|cancel.
 * Creation is idempotent on the id: the same body again answers 200 with the campaign's
 * progress, another body under a used id 409, so a campaign system can retry a timed-out request.
 */
export function campaignRoutes(o: { campaigns: Campaigns }) {
  async function answer(res: Response, id: string, status = 200): Promise<void> {
    const progress = await o.campaigns.progress(id);
    if (!progress) throw unknownCampaign(id);
    res.status(status).json(progress);
  }

  return {
    create: async (req: Request, res: Response) => {
      const parsed = campaignSchema.safeParse(req.body);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), 'The campaign');
      let result;
      try {
        result = await o.campaigns.create(parsed.data);
      } catch (error) {
        if (error instanceof UnknownAudienceError) throw HttpError.invalidRequest([{ path: error.path, message: error.message }], 'The campaign');
        throw error;
      }
      if (result.kind === 'invalid') throw HttpError.invalidRequest(result.problems, 'The campaign');
      if (result.kind === 'conflict') {
        throw new HttpError(409, 'campaign_exists', `Campaign '${parsed.data.id}' exists with another body (created ${result.campaign.createdAt}). Use a new id for a new campaign; the same body again is answered with its progress.`);
      }
      await answer(res, parsed.data.id, result.kind === 'created' ? 201 : 200);
    },

    get: async (req: Request<{ id: string }>, res: Response) => answer(res, req.params.id),

    action: (action: 'pause' | 'resume' | 'cancel') => async (req: Request<{ id: string }>, res: Response) => {
      const id = req.params.id;
      const before = await o.campaigns.progress(id);
      if (!before) throw unknownCampaign(id);
      if (!(await o.campaigns.transition(id, action))) {
        const allowed = action === 'pause' ? 'running' : action === 'resume' ? 'paused' : 'running or paused';
        throw new HttpError(409, 'campaign_state', `Campaign '${id}' is ${before.status}; ${action} needs a campaign that is ${allowed}.`);
      }
      await answer(res, id);
    },
  };
}

function unknownCampaign(id: string): HttpError {
  return new HttpError(404, 'unknown_campaign', `No campaign with id '${id}'. POST /v1/campaigns creates it.`);
}
