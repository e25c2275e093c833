import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { NextFunction, Request, Response } from 'express';
import { parseByteSize } from './byte-size.ts';
import { HttpError, payloadTooLarge } from './http-error.ts';

/**
 * JSON request bodies, read the same way on every JSON route, inside Express (`jsonBody`) and
 * before it (render-fast-path.ts): the JSON media type (415 otherwise, rather than a confusing
 * "expected object" about a body that was never parsed), UTF-8 (RFC 8259 §8.1), optionally
 * gzip-, deflate- or br-encoded, at most `limit` bytes once decoded (413), one JSON object or
 * array (400 `invalid_json` otherwise). An empty body reads as `{}`, so the schema names the
 * missing fields.
 */
export async function readJsonBody(req: IncomingMessage, limit: number, route: string): Promise<unknown> {
  requireJsonType(req, route);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  // A declared length over the limit is refused before a byte is read (compressed bodies are
  // measured as they decode).
  if (encoding === 'identity' && Number(req.headers['content-length'] ?? 0) > limit) throw payloadTooLarge(limit);
  const text = (await collect(req, decoded(req, encoding), limit)).toString('utf8');
  return parseJsonText(text);
}

export function requireJsonType(req: IncomingMessage, route: string): void {
  const header = req.headers['content-type'];
  const semi = header?.indexOf(';') ?? -1;
  const type = (semi < 0 ? header : header!.slice(0, semi))?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', `${route} takes JSON; send Content-Type: application/json${header ? ` (got ${header})` : ''}.`);
  }
  const charset = semi < 0 ? undefined : /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(header!)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(415, 'unsupported_media_type', `Unsupported charset "${charset.toUpperCase()}". Send UTF-8 JSON, optionally gzip- or deflate-encoded.`);
  }
}

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

function decoded(req: IncomingMessage, encoding: string): Readable {
  switch (encoding) {
    case 'identity':
      return req;
    case 'gzip':
    case 'x-gzip':
      return req.pipe(createGunzip());
    case 'deflate':
      return req.pipe(createInflate());
    case 'br':
      return req.pipe(createBrotliDecompress());
    default:
      throw new HttpError(415, 'unsupported_media_type', `Unsupported content encoding "${encoding}". Send UTF-8 JSON, optionally gzip- or deflate-encoded.`);
  }
}

/**
 * The decoded body's bytes, refused with a 413 as soon as they pass `limit`. `req` is watched
 * beside `stream` (its decoder, when encoded): a client that goes away mid-body ends neither.
 */
function collect(req: IncomingMessage, stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err: HttpError | undefined) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      req.off('close', onClose);
      if (err) {
        // The rest is read and dropped, so the connection stays usable for the error response.
        if (stream !== req) req.unpipe();
        req.resume();
        reject(err);
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(payloadTooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => finish(undefined);
    const aborted = () => new HttpError(400, 'request_aborted', 'The client closed the connection before the body was complete.');
    const onClose = () => {
      if (!req.complete) finish(aborted());
    };
    const onError = (err: Error) =>
      finish(stream !== req ? new HttpError(400, 'invalid_body', `The request body could not be decoded (${err.message}).`) : aborted());
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    req.once('close', onClose);
  });
}

/** `readJsonBody` as Express middleware: `req.body` holds the parsed document. */
export function jsonBody(limit: string) {
  const bytes = parseByteSize(limit);
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    req.body = await readJsonBody(req, bytes, `${req.method} ${req.originalUrl.split('?')[0]}`);
    next();
  };
}
