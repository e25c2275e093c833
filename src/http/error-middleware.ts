import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { HttpError, toHttpError } from './http-error.ts';
import type { Logger } from './logger.ts';
import { noteErrorCode } from './request-logging.ts';

/** Unmatched routes: the same error shape as everything else, with a pointer to the route list. */
export function notFound(req: Request): never {
  throw new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}. GET /v1/openapi.json lists the routes.`);
}

/**
 * Sends a failure as `{ error: { code, message, fields? } }` with its status. Server faults are
 * logged with their cause; their body says nothing internal. Shared by the error middleware
 * and the routes served before Express (render-fast-path.ts).
 */
export function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const error = toHttpError(err);
  if (error.status >= 500) log.error({ err }, 'request failed');
  // The access-log line then says which error a 4xx was, without logging the body that caused it.
  noteErrorCode(res, error.code);
  const body = JSON.stringify(error.body());
  res.writeHead(error.status, {
    ...error.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The one error middleware: every failure leaves through `sendError`. */
export function errorMiddleware(err: unknown, req: Request, res: Response, next: NextFunction): void {
  // A streamed response (batch) cannot change its status any more; end it and let the client see the cut.
  if (res.headersSent) {
    const error = toHttpError(err);
    if (error.status >= 500) req.log.error({ err }, 'request failed');
    noteErrorCode(res, error.code);
    return next(err);
  }
  sendError(res, err, req.log);
}
