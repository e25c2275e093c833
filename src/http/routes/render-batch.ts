import { pipeline, type Readable } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import type { Request, Response } from 'express';
import { encodeRenderResult, type EncodedResult } from '../../render/encode-result.ts';
import { joinChunks, negotiateEncoding } from '../compression/body-encoding.ts';
import { HttpError, payloadTooLarge, toHttpError } from '../http-error.ts';
import { BodyLimitExceeded, ndjsonLines } from '../ndjson-lines.ts';
import type { RenderFn } from '../render-service.ts';
import { parseRenderRequest } from './render.ts';

const NDJSON_TYPES = ['application/x-ndjson', 'application/jsonl'];

/**
 * Renders run synchronously; after this long the loop yields so health checks and other
 * requests get a turn while a large batch streams.
 */
const SLICE_MS = 20;

const UNSHARED = [false];

interface BatchOptions {
  render: RenderFn;
  /** BATCH_BODY_LIMIT in bytes (decompressed). */
  limit: number;
  /** One line may be as large as a single POST /v1/render body. */
  maxLineBytes: number;
}

/**
 * POST /v1/render/batch — NDJSON in, NDJSON out. Lines are read, rendered and written one at a
 * time, so results flow while the body is still arriving and memory stays flat however large
 * the batch. A full socket (`write` returning false) stops reading until 'drain', and TCP flow
 * control passes the pause on to the sender.
 */
export function renderBatchRoute(o: BatchOptions) {
  return async (req: Request, res: Response): Promise<void> => {
    if (!req.is(NDJSON_TYPES)) {
      const got = req.headers['content-type'];
      throw new HttpError(
        415,
        'unsupported_media_type',
        `POST /v1/render/batch takes NDJSON: send Content-Type: application/x-ndjson with one render request per line${got ? ` (got ${got})` : ''}. For a single recipient use POST /v1/render.`,
      );
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > o.limit) throw payloadTooLarge(o.limit, 'The batch');
    const input = decoded(req);

    res.status(200);
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    // With gzip the whole response is one gzip member; every line is flushed, so each result can
    // be decoded as soon as it arrives.
    const encoding = negotiateEncoding(req, res);
    let closed = false;
    res.once('close', () => (closed = true));
    // One write per line: the pieces of a result (render/encode-result.ts) are joined first.
    const emit = async (pieces: readonly Buffer[], shared: readonly boolean[], contexts?: EncodedResult['contexts']) => {
      if (!res.write(joinChunks(encoding.write(pieces, shared, contexts))) && !closed) await drainOrClose(res);
    };
    const emitError = (line: number, error: HttpError) => emit([Buffer.from(`${JSON.stringify({ line, ok: false, error: error.body().error })}\n`)], UNSHARED);

    let lastLine = 0;
    let ok = 0;
    let failed = 0;
    let sliceStart = performance.now();
    try {
      for await (const item of ndjsonLines(input, { limit: o.limit, maxLineBytes: o.maxLineBytes })) {
        if (closed) break;
        lastLine = item.number;
        if ('tooLong' in item) {
          failed++;
          await emitError(item.number, payloadTooLarge(o.maxLineBytes, `Line ${item.number}`));
          continue;
        }
        if (item.text.trim() === '') continue;
        try {
          const result = await o.render(parseRenderRequest(parseLine(item.text, item.number), `Line ${item.number}`));
          ok++;
          const encoded = encodeRenderResult(result, `{"line":${item.number},"ok":true,"result":`, '}\n');
          await emit(encoded.pieces, encoded.shared, encoded.contexts);
        } catch (err) {
          failed++;
          const error = toHttpError(err);
          if (error.status >= 500) req.log.error({ err, line: item.number }, 'batch line failed');
          await emitError(item.number, error);
        }
        if (performance.now() - sliceStart > SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
    } catch (err) {
      if (closed) return;
      failed++;
      const error =
        err instanceof BodyLimitExceeded
          ? payloadTooLarge(o.limit, `The batch (after line ${err.lastLine})`)
          : isZlibError(err)
            ? new HttpError(400, 'invalid_gzip', `The gzip-encoded body is corrupt after line ${lastLine} (${(err as Error).message}). Lines up to there were processed.`)
            : toHttpError(err);
      if (error.status >= 500) req.log.error({ err, line: lastLine }, 'batch failed');
      await emitError(lastLine + 1, error);
    }
    req.log.info({ lines: lastLine, ok, failed, aborted: closed || undefined }, 'batch finished');
    if (!closed) res.end(joinChunks(encoding.end()));
  };
}

/** Resolves on 'drain' or on 'close' (a client that went away never drains), leaving no listener behind. */
function drainOrClose(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function parseLine(text: string, number: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `Line ${number} is not valid JSON (${(err as Error).message}). Each line must be one complete JSON object.`);
  }
}

/** The request body, gunzipped when the client compressed it (large batches compress ~10×). */
function decoded(req: Request): Readable {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return req;
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    // pipeline (not pipe) so an aborted upload surfaces as an error on the gunzip side too.
    return pipeline(req, createGunzip(), () => {});
  }
  throw new HttpError(415, 'unsupported_media_type', `Content-Encoding ${encoding} is not supported on batches; send the body uncompressed or with Content-Encoding: gzip.`);
}

function isZlibError(err: unknown): boolean {
  return err instanceof Error && ((err as NodeJS.ErrnoException).code ?? '').startsWith('Z_');
}
