import { encodeRenderResult, type EncodedResult } from '../../render/encode-result.ts';
import { HttpError, toHttpError } from '../http-error.ts';
import type { RenderFn } from '../../render-service/render-service.ts';
import { parseRenderRequest } from '../routes/render.ts';

/** One batch line rendered: its result encoded as an output line, or the error it gets instead. */
export type LineOutcome = { ok: true; encoded: EncodedResult } | { ok: false; error: HttpError; cause: unknown };

/**
 * Parses, validates, renders and encodes one NDJSON line: the same work on the request's
 * thread and in a render thread (render-thread.ts), so both write the same bytes.
 */
export async function renderBatchLine(text: string, number: number, render: RenderFn): Promise<LineOutcome> {
  try {
    const result = await render(parseRenderRequest(parseLine(text, number), `Line ${number}`));
    return { ok: true, encoded: encodeRenderResult(result, `{"line":${number},"ok":true,"result":`, '}\n') };
  } catch (err) {
    return { ok: false, error: toHttpError(err), cause: err };
  }
}

/** The output line for a line that failed. */
export function errorLine(line: number, error: HttpError): Buffer {
  return Buffer.from(`${JSON.stringify({ line, ok: false, error: error.body().error })}\n`);
}

function parseLine(text: string, number: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `Line ${number} is not valid JSON (${(err as Error).message}). Each line must be one complete JSON object.`);
  }
}
