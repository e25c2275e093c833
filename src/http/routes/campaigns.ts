import type { NextFunction, Request, Response } from 'express';
import { UnknownAudienceError } from '../../campaigns/audience.ts';
import { campaignSchema } from '../../campaigns/campaign-schema.ts';
import type { Campaigns } from '../../campaigns/campaign-service.ts';
import { fieldsFromZod, HttpError, payloadTooLarge, type FieldProblem } from '../http-error.ts';
import { parseJsonText } from '../json-body.ts';
import { BodyLimitExceeded, ndjsonLines } from '../ndjson-lines.ts';

const NDJSON_TYPES = ['application/x-ndjson', 'application/jsonl'];

/**
 * POST /v1/campaigns, GET /v1/campaigns/:id and POST /v1/campaigns/:id/pause|resume|cancel.
 * Creation is idempotent on the id: the same body again answers 200 with the campaign's
 * progress, another body under a used id 409, so a campaign system can retry a timed-out request.
 */
export function campaignRoutes(o: { campaigns: Campaigns; uploadLimit: number; maxLineBytes: number }) {
  async function answer(res: Response, id: string, status = 200): Promise<void> {
    const progress = await o.campaigns.progress(id);
    if (!progress) throw unknownCampaign(id);
    res.status(status).json(progress);
  }

  async function create(body: unknown, res: Response): Promise<void> {
    const parsed = campaignSchema.safeParse(body);
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
  }

  return {
    /**
     * The NDJSON upload: the first line is the campaign without `audience`, every further line
     * one recipient profile (audience.recipients.N in a 400 is the profile on line N + 2).
     * Other content types go on to the JSON body parser and `create`.
     */
    upload: async (req: Request, res: Response, next: NextFunction) => {
      if (!req.is(NDJSON_TYPES)) return next();
      if (Number(req.headers['content-length'] ?? 0) > o.uploadLimit) throw payloadTooLarge(o.uploadLimit, 'The upload');
      let header: unknown;
      const recipients: unknown[] = [];
      try {
        for await (const line of ndjsonLines(req, { limit: o.uploadLimit, maxLineBytes: o.maxLineBytes })) {
          if ('tooLong' in line) throw payloadTooLarge(o.maxLineBytes, `Line ${line.number}`);
          if (line.text.trim() === '') continue;
          const value = parseJsonText(line.text);
          if (header === undefined) header = value;
          else recipients.push(value);
        }
      } catch (error) {
        if (error instanceof BodyLimitExceeded) throw payloadTooLarge(o.uploadLimit, `The upload (after line ${error.lastLine})`);
        throw error;
      }
      const problems: FieldProblem[] = [];
      if (typeof header !== 'object' || header === null || Array.isArray(header)) problems.push({ path: '(root)', message: 'the first line is the campaign object; every further line one recipient profile' });
      else if ('audience' in header) problems.push({ path: 'audience', message: 'an upload brings its audience as the lines after the first; leave audience out of the campaign line' });
      if (problems.length) throw HttpError.invalidRequest(problems, 'The upload');
      await create({ ...(header as object), audience: { recipients } }, res);
    },

    create: (req: Request, res: Response) => create(req.body, res),

    get: (req: Request<{ id: string }>, res: Response) => answer(res, req.params.id),

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
