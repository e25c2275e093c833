import type { IncomingMessage, ServerResponse } from 'node:http';
import bodyParser from 'body-parser';
import type { NextFunction, Request, Response } from 'express';
import { parseByteSize } from './byte-size.ts';
import { HttpError, toHttpError } from './http-error.ts';

/** Reads one JSON request body; `route` names the endpoint in a 415. */
export type ReadJsonBody = (req: IncomingMessage, res: ServerResponse, route: string) => Promise<unknown>;

/**
 * JSON request bodies, read the same way on every JSON route: the JSON media type (415
 * otherwise, rather than a confusing "expected object" about a body that was never parsed),
 * UTF-8 (RFC 8259 §8.1), then body-parser: optionally gzip-, deflate- or br-encoded, at most
 * `limit` bytes once decoded (413, a declared length over it before a byte is read), one JSON
 * object or array (400 `invalid_json` otherwise), a byte order mark ignored. An empty body
 * reads as `{}`, so the schema names the missing fields. Refusals come back as HttpErrors
 * (http-error.ts `toHttpError` knows body-parser's error types).
 */
export function jsonBodyReader(limit: number): ReadJsonBody {
  // The media type is checked here, with a message that says what to send.
  const parse = bodyParser.json({ limit, strict: true, type: () => true });
  return (req, res, route) => {
    requireJsonType(req, route);
    return new Promise((resolve, reject) => {
      parse(req, res, (err?: unknown) => {
        if (err) reject(toHttpError(err));
        else resolve((req as { body?: unknown }).body ?? {});
      });
    });
  };
}

function requireJsonType(req: IncomingMessage, route: string): void {
  const header = req.headers['content-type'];
  const semi = header?.indexOf(';') ?? -1;
  const type = (semi < 0 ? header : header!.slice(0, semi))?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', `${route} takes JSON; send Content-Type: application/json${header ? ` (got ${header})` : ''}.`);
  }
  // body-parser would also take UTF-16 and UTF-32; RFC 8259 §8.1 says UTF-8.
  const charset = semi < 0 ? undefined : /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(header!)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, 'unsupported_media_type', `Unsupported charset "${charset.toUpperCase()}". Send UTF-8 JSON, optionally gzip- or deflate-encoded.`);
  }
}

/** One JSON document from an NDJSON line (a campaign upload): an object or array, a byte order mark ignored, blank as `{}`. */
export function parseJsonText(text: string): unknown {
  // RFC 8259 §8.1: a parser may ignore a byte order mark, and some Windows clients send one.
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (at < text.length && (text[at] === ' ' || text[at] === '\n' || text[at] === '\r' || text[at] === '\t')) at++;
  if (at === text.length) return {};
  if (text[at] !== '{' && text[at] !== '[') throw invalidJson(`expected an object or array at position ${at}`);
  try {
    return JSON.parse(at === 0 ? text : text.slice(at));
  } catch (err) {
    throw invalidJson((err as Error).message);
  }
}

function invalidJson(detail: string): HttpError {
  return new HttpError(400, 'invalid_json', `The request body is not valid JSON (${detail}). Send one JSON document with Content-Type: application/json.`);
}

/** `jsonBodyReader` as Express middleware: `req.body` holds the parsed document. */
export function jsonBody(limit: string) {
  const read = jsonBodyReader(parseByteSize(limit));
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    req.body = await read(req, res, `${req.method} ${req.originalUrl.split('?')[0]}`);
    next();
  };
}
