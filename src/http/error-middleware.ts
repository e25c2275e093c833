import type { NextFunction, Request, Response } from 'express';
import { HttpError, toHttpError } from './http-error.ts';

/** Unmatched routes: the same error shape as everything else, with a pointer to the route list. */
export function notFound(req: Request): never {
  throw new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}. GET /v1/openapi.json lists the routes.`);
}

/**
 * The one error middleware: every failure leaves as `{ error: { code, message, fields? } }`
 * with its status. Server faults are logged with their cause; their body says nothing internal.
 */
export function errorMiddleware(err: unknown, req: Request, res: Response, next: NextFunction): void {
  const error = toHttpError(err);
  if (error.status >= 500) req.log.error({ err }, 'request failed');
  // The access-log line then says which error a 4xx was, without logging the body that caused it.
  res.locals.errorCode = error.code;
  // A streamed response (batch) cannot change its status any more; end it and let the client see the cut.
  if (res.headersSent) return next(err);
  if (error.headers) res.set(error.headers);
  res.status(error.status).json(error.body());
}
