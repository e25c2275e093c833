import express, { type NextFunction, type Request, type Response } from 'express';
import { HttpError } from './http-error.ts';

/**
 * Body handling for the JSON routes: insist on the JSON media type (415 otherwise, rather than
 * a confusing "expected object" about a body that was never parsed), then parse with the limit.
 */
export function jsonBody(limit: string) {
  const parse = express.json({ limit });
  const requireJson = (req: Request, _res: Response, next: NextFunction): void => {
    if (!req.is('application/json')) {
      const got = req.headers['content-type'];
      throw new HttpError(
        415,
        'unsupported_media_type',
        `${req.method} ${req.path} takes JSON; send Content-Type: application/json${got ? ` (got ${got})` : ''}.`,
      );
    }
    next();
  };
  return [requireJson, parse];
}
