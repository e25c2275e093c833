import { pipeline, type Readable } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import type { Request, Response } from 'express';
import type { EncodedResult } from '../../render/encode-result.ts';
import { errorLine, renderBatchLine } from '../batch/batch-line.ts';
import type { BatchRenderPool, PooledLine } from '../batch/render-pool.ts';
import { joinChunks, negotiateEncoding } from '../compression/body-encoding.ts';
import type { DeflateFragment } from '../compression/gzip-member.ts';
import { HttpError, payloadTooLarge, toHttpError } from '../http-error.ts';
import { BodyLimitExceeded, ndjsonLines } from '../ndjson-lines.ts';
import type { RenderFn } from '../../render-service/render-service.ts';

const NDJSON_TYPES = ['application/x-ndjson', 'application/jsonl'];

/**
 * Renders on the request's thread run synchronously; after this long the loop yields so health
 * checks and other requests get a turn while a large batch streams.
 */
const SLICE_MS = 20;

/**
 * Lines handed to render threads and not yet written, per thread. Enough to keep every thread
 * busy while the request's thread writes; few enough that memory stays flat (~100 kB a result).
 */
const LINES_AHEAD_PER_THREAD = 16;

const UNSHARED = [false];

interface BatchOptions {
  render: RenderFn;
  /** BATCH_BODY_LIMIT in bytes (decompressed). */
  limit: number;
  /** One line may be as large as a single POST /v1/render body. */
  maxLineBytes: number;
  /** Render threads (BATCH_THREADS); without them, or when unavailable, lines render here. */
  pool?: () => BatchRenderPool | undefined;
}

/** A line's output, once it is ready to be written (in input order). */
interface Output {
  /** Rendered by a thread for a gzip response: already compressed. */
  fragment?: DeflateFragment;
  pieces: readonly Buffer[];
  shared: readonly boolean[];
  contexts?: EncodedResult['contexts'];
  failed: boolean;
  /** A 5xx behind an error line, for the request's log. */
  serverError?: { err: unknown };
  /** Called once the bytes are written (a render thread's buffer goes back to it). */
  release?: () => void;
}

/**
 * POST /v1/render/batch — NDJSON in, NDJSON out. Lines are read, rendered and written in order,
 * so results flow while the body is still arriving and memory stays flat however large the
 * batch. A full socket (`write` returning false) stops reading until 'drain', and TCP flow
 * control passes the pause on to the sender.
 *
 * With render threads (render-pool.ts) up to LINES_AHEAD_PER_THREAD lines per thread render
 * while earlier results are written. For a gzip response each thread compresses its lines as
 * deflate fragments (gzip-member.ts), and this thread lays them into one gzip member.
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
    const pool = o.pool?.();
    const threads = pool?.available ? pool : undefined;
    let closed = false;
    res.once('close', () => (closed = true));

    let lastLine = 0;
    let ok = 0;
    let failed = 0;
    // One write per line: the pieces of a result (render/encode-result.ts) are joined first.
    const write = async (out: Output, line: number) => {
      if (out.failed) failed++;
      else ok++;
      if (out.serverError) req.log.error({ err: out.serverError.err, line }, 'batch line failed');
      const chunks = out.fragment && encoding.append ? encoding.append(out.fragment) : encoding.write(out.pieces, out.shared, out.contexts);
      if (!res.write(joinChunks(chunks), out.release && (() => out.release!())) && !closed) await drainOrClose(res);
    };
    // Lines in flight, in input order. The writer below writes each as soon as it and every
    // line before it are ready, while the loop further down goes on reading: a result must not
    // wait for the next line to arrive (the client may be waiting for it before sending more).
    const ahead: { line: number; output: Promise<Output> }[] = [];
    const window = threads ? LINES_AHEAD_PER_THREAD * threads.size : 1;
    let writer: Promise<void> | undefined;
    let slotFreed: (() => void) | undefined;
    const startWriter = () =>
      (writer ??= (async () => {
        while (ahead.length && !closed) {
          const next = ahead[0]!;
          const out = await next.output;
          ahead.shift();
          slotFreed?.();
          await write(out, next.line);
        }
        writer = undefined;
        slotFreed?.();
      })());
    const enqueue = async (line: number, output: Promise<Output>) => {
      ahead.push({ line, output });
      void startWriter();
      while (ahead.length >= window && !closed) await new Promise<void>((resolve) => (slotFreed = resolve));
    };
    const finishWriting = async () => {
      while (writer) await writer;
    };

    let sliceStart = performance.now();
    try {
      for await (const item of ndjsonLines(input, { limit: o.limit, maxLineBytes: o.maxLineBytes })) {
        if (closed) break;
        lastLine = item.number;
        if ('tooLong' in item) await enqueue(item.number, Promise.resolve(failedLine(item.number, payloadTooLarge(o.maxLineBytes, `Line ${item.number}`))));
        else if (item.text.trim() !== '') await enqueue(item.number, threads ? threaded(threads, item.text, item.number, encoding.gzip, () => here(o.render, item.text, item.number)) : here(o.render, item.text, item.number));
        if (!threads && performance.now() - sliceStart > SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
      await finishWriting();
    } catch (err) {
      await finishWriting();
      if (closed) return;
      const error =
        err instanceof BodyLimitExceeded
          ? payloadTooLarge(o.limit, `The batch (after line ${err.lastLine})`)
          : isZlibError(err)
            ? new HttpError(400, 'invalid_gzip', `The gzip-encoded body is corrupt after line ${lastLine} (${(err as Error).message}). Lines up to there were processed.`)
            : toHttpError(err);
      if (error.status >= 500) req.log.error({ err, line: lastLine }, 'batch failed');
      await write({ ...failedLine(lastLine + 1, error), serverError: undefined }, lastLine + 1);
    }
    req.log.info({ lines: lastLine, ok, failed, threads: threads?.size, aborted: closed || undefined }, 'batch finished');
    if (!closed) res.end(joinChunks(encoding.end()));
  };
}

/** The error line a failed line gets; a 5xx is also logged, with its cause. */
function failedLine(line: number, error: HttpError, cause?: unknown): Output {
  return { pieces: [errorLine(line, error)], shared: UNSHARED, failed: true, serverError: error.status >= 500 ? { err: cause ?? error } : undefined };
}

/** A line rendered on this thread. */
async function here(render: RenderFn, text: string, number: number): Promise<Output> {
  const outcome = await renderBatchLine(text, number, render);
  if (outcome.ok) return { pieces: outcome.encoded.pieces, shared: outcome.encoded.shared, contexts: outcome.encoded.contexts, failed: false };
  return failedLine(number, outcome.error, outcome.cause);
}

/**
 * A line rendered by a thread. When the threads could not start it renders here instead; a
 * thread that died while holding it makes it a 500 line.
 */
async function threaded(pool: BatchRenderPool, text: string, number: number, gzip: boolean, here: () => Promise<Output>): Promise<Output> {
  let line: PooledLine;
  try {
    line = await pool.render(text, number, gzip);
  } catch (err) {
    if (pool.failedToStart) return here();
    return failedLine(number, new HttpError(500, 'internal_error', `Line ${number} could not be rendered: its render thread stopped. Send it again.`), err);
  }
  const serverError = line.serverError ? { err: Object.assign(new Error(line.serverError.message), { stack: line.serverError.stack }) } : undefined;
  const fragment = line.gzip ? { chunks: [line.bytes], crc: line.gzip.crc, size: line.gzip.size } : undefined;
  return { fragment, pieces: fragment ? [] : [line.bytes], shared: fragment ? [] : UNSHARED, failed: line.failed, serverError, release: line.release };
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
