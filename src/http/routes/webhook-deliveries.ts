import type { Request, Response } from 'express';
import { z } from 'zod';
import { DELIVERY_STATES, WEBHOOK_RETRY_FOR_MS, type Store } from '../../store/index.ts';
import { decodeCursor, encodeCursor, pageLimitSchema } from '../cursor.ts';
import { fieldsFromZod, HttpError } from '../http-error.ts';

const listQuerySchema = z
  .object({
    state: z.enum(DELIVERY_STATES, { message: `state is one of ${DELIVERY_STATES.join(', ')}` }).optional(),
    eventId: z.string().min(1).max(64).optional(),
    after: z.string().max(512).optional(),
    limit: pageLimitSchema,
  })
  .strict();
const deliveryCursor = z.tuple([z.number().int(), z.string().min(1)]);

/**
 * `GET /v1/webhooks/deliveries` (newest event first: state, attempts, last error, next attempt)
 * and `POST /v1/webhooks/deliveries/:id/retry` (sends one again, delivered or failed, with a
 * fresh day of retries).
 */
export function webhookDeliveryRoutes(o: { store: Store; now: () => Date }) {
  return {
    list: async (req: Request, res: Response) => {
      const parsed = listQuerySchema.safeParse(req.query);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), 'The query');
      const { state, eventId, after, limit } = parsed.data;
      const from = after === undefined ? undefined : decodeCursor(after, deliveryCursor);
      const page = await o.store.webhooks.deliveries({ state, eventId, limit: limit + 1, ...(from ? { after: { seq: from[0], id: from[1] } } : {}) });
      const shown = page.slice(0, limit);
      const last = shown.at(-1)?.position;
      res.json({ deliveries: shown.map((p) => p.delivery), nextCursor: page.length > limit && last ? encodeCursor([last.seq, last.id]) : null });
    },

    retry: async (req: Request<{ id: string }>, res: Response) => {
      const at = o.now();
      const result = await o.store.webhooks.retry(req.params.id, at, new Date(at.getTime() + WEBHOOK_RETRY_FOR_MS));
      if (result === undefined) throw new HttpError(404, 'unknown_delivery', `No webhook delivery with id '${req.params.id}'. GET /v1/webhooks/deliveries lists them.`);
      if (result === 'in_flight') throw new HttpError(409, 'delivery_in_progress', `Delivery ${req.params.id} is being sent right now; its outcome shows in GET /v1/webhooks/deliveries shortly.`);
      res.status(202).json(result);
    },
  };
}
