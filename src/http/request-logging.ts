import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express, NextFunction, Request, Response } from 'express';
import { accessLogger, type Logger } from './logger.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request id: the caller's x-request-id when it is sane, otherwise generated. */
    id: string;
    /** Logger bound to this request's id. */
    log: Logger;
  }
}

/** Ids a caller may choose: enough for UUIDs, ULIDs and trace ids, nothing that could forge a log line. */
const CALLER_ID = /^[\w.:-]{1,128}$/;

/** The error code of a failed response, for its access line (set by whoever sent the error). */
const errorCodes = new WeakMap<ServerResponse, string>();

export function noteErrorCode(res: ServerResponse, code: string): void {
  errorCodes.set(res, code);
}

/**
 * Gives a request its id (echoed in `x-request-id`, so a caller can quote it in a support
 * ticket) and writes one access-log line when the response finishes or the client goes away.
 * Used by the Express middleware below and by the routes served before Express
 * (render-fast-path.ts), so every request logs the same line.
 */
export function trackRequest(req: IncomingMessage & { id?: string }, res: ServerResponse, access: Logger): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && CALLER_ID.test(given) ? given : randomUUID();
  req.id = id;
  res.setHeader('x-request-id', id);
  const started = process.hrtime.bigint();
  let logged = false;
  const done = () => {
    if (logged) return;
    logged = true;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const aborted = !res.writableFinished;
    const level = res.statusCode >= 500 ? 'error' : aborted ? 'warn' : 'info';
    const error = errorCodes.get(res);
    access[level]({ reqId: id, req, res, ms: Math.round(ms * 10) / 10, ...(error ? { error } : {}), ...(aborted ? { aborted } : {}) }, aborted ? 'request aborted' : 'request completed');
  };
  res.once('finish', done);
  res.once('close', done);
  return id;
}

/**
 * The Express side of `trackRequest`. `req.log` (the logger bound to the request id) is made on
 * first use: most requests only write the access line, and a child logger per request cost
 * more than the line itself.
 */
export function requestLogging(app: Express, logger: Logger) {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: Request & { [OWN_LOG]?: Logger }): Logger {
      return (this[OWN_LOG] ??= logger.child({ reqId: this.id }));
    },
  });
  const access = accessLogger(logger);
  return (req: Request, res: Response, next: NextFunction): void => {
    trackRequest(req, res, access);
    next();
  };
}

const OWN_LOG = Symbol('inboxcart.requestLog');
