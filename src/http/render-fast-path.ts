import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Hands `POST /v1/render` (the plain JSON form: no query string) to the render endpoint
 * (routes/render.ts) before Express sees it; everything else, `?format=eml` included, goes on
 * to Express, whose route for POST /v1/render runs the same endpoint function. Campaign
 * systems call it once per recipient, and Express's own per-request work (swapping the
 * prototypes of `req` and `res`, which also deoptimises the code that touches them afterwards,
 * walking the router) cost more CPU than the render (see README, Benchmarks).
 *
 * Returns whether it took the request.
 */
export function renderFastPath(endpoint: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/render') return false;
    endpoint(req, res);
    return true;
  };
}
