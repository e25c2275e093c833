import type { NextFunction, Request, Response } from 'express';
import { EventIdConflict } from '../../triggers/customer-events.ts';
import { customerEventSchema, MAX_EVENTS_PER_REQUEST, type CustomerEvent } from '../../triggers/event-schema.ts';
import type { Triggers } from '../../triggers/trigger-service.ts';
import { fieldsFromZod, HttpError, payloadTooLarge, type FieldProblem } from '../http-error.ts';
import { parseJsonText } from '../json-body.ts';
import { BodyLimitExceeded, ndjsonLines } from '../ndjson-lines.ts';

const NDJSON_TYPES = ['application/x-ndjson', 'application/jsonl'];

/**
 * POST /v1/events: one event (a JSON object), a JSON array of them, or NDJSON (one a line).
 * Every event is checked before any is stored, and they are stored in one transaction: a bad
 * one anywhere stores nothing, and the 400 names it (`3.sku`; `lines.4.sku` is line 4 of an
 * NDJSON body). Idempotent on the event id: sent again, the same events are answered the same.
 */
export function eventRoutes(o: { triggers: Pick<Triggers, 'recordEvents'>; limit: number; maxLineBytes: number }) {
  async function store(items: readonly { at: string; value: unknown }[], res: Response): Promise<void> {
    if (items.length > MAX_EVENTS_PER_REQUEST) throw HttpError.invalidRequest([{ path: '(root)', message: `at most ${MAX_EVENTS_PER_REQUEST} events a request; split the upload` }], 'The events');
    if (items.length === 0) throw HttpError.invalidRequest([{ path: '(root)', message: 'no event: send one event object, an array or NDJSON lines' }], 'The events');
    const problems: FieldProblem[] = [];
    const events: CustomerEvent[] = [];
    for (const { at, value } of items) {
      const parsed = customerEventSchema.safeParse(value);
      if (parsed.success) events.push(parsed.data);
      else problems.push(...fieldsFromZod(parsed.error).map((p) => ({ ...p, path: at === '' ? p.path : p.path === '(root)' ? at : `${at}.${p.path}` })));
    }
    if (problems.length) throw HttpError.invalidRequest(problems, 'The events');
    try {
      await o.triggers.recordEvents(events);
    } catch (error) {
      if (error instanceof EventIdConflict) {
        throw new HttpError(409, 'event_id_reused', `Event id(s) ${error.ids.join(', ')} were sent before with another body. Give a new event a new id; the same event sent again is accepted once.`);
      }
      throw error;
    }
    res.json({ accepted: events.length, events: events.map((e) => ({ id: e.id, type: e.type, customerId: e.customerId })) });
  }

  return {
    /** NDJSON bodies; other content types go on to the JSON body parser and `json`. */
    ndjson: async (req: Request, res: Response, next: NextFunction) => {
      if (!req.is(NDJSON_TYPES)) return next();
      if (Number(req.headers['content-length'] ?? 0) > o.limit) throw payloadTooLarge(o.limit, 'The events');
      const items: { at: string; value: unknown }[] = [];
      try {
        for await (const line of ndjsonLines(req, { limit: o.limit, maxLineBytes: o.maxLineBytes })) {
          if ('tooLong' in line) throw payloadTooLarge(o.maxLineBytes, `Line ${line.number}`);
          if (line.text.trim() === '') continue;
          items.push({ at: `lines.${line.number}`, value: parseJsonText(line.text) });
        }
      } catch (error) {
        if (error instanceof BodyLimitExceeded) throw payloadTooLarge(o.limit, `The events (after line ${error.lastLine})`);
        throw error;
      }
      await store(items, res);
    },

    json: (req: Request, res: Response) => store(Array.isArray(req.body) ? req.body.map((value, i) => ({ at: String(i), value })) : [{ at: '', value: req.body }], res),
  };
}
