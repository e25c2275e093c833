import { describe, expect, it } from 'vitest';
import { parseMultipart, parseUrlEncoded } from '../../src/http/amp/form-body.ts';
import { HttpError } from '../../src/http/http-error.ts';

const multipart = (boundary: string, parts: string[], { preamble = '', epilogue = '' } = {}) =>
  Buffer.from(`${preamble}${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--${epilogue}`);

const field = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;

const entries = (fields: Map<string, string[]>) => Object.fromEntries(fields);

const refused = async (fn: () => unknown): Promise<HttpError> => {
  try {
    await fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected an HttpError');
};

describe('form bodies', () => {
  it('urlencoded: decodes + and percent escapes, and keeps every value of a repeated name', () => {
    expect(entries(parseUrlEncoded(Buffer.from('sku=NL-TOP-001&size=M&concerns=dullness&concerns=fine-lines&note=a+b%26c%C3%A5')))).toEqual({
      sku: ['NL-TOP-001'],
      size: ['M'],
      concerns: ['dullness', 'fine-lines'],
      note: ['a b&cå'],
    });
  });

  it('multipart: reads fields with a preamble, an epilogue, a quoted boundary, CRLF and UTF-8 in names and values', async () => {
    const body = multipart('----amp7MA4YWxk', [field('sku', 'NL-TOP-001'), field('note', 'line 1\r\nline 2 — ö'), field('concerns', 'a'), field('concerns', 'b'), field('empty', ''), field('größe', 'M')], {
      preamble: 'ignored preamble\r\n',
      epilogue: '\r\nignored epilogue',
    });
    expect(entries(await parseMultipart(body, 'multipart/form-data; boundary="----amp7MA4YWxk"'))).toEqual({
      sku: ['NL-TOP-001'],
      note: ['line 1\r\nline 2 — ö'],
      concerns: ['a', 'b'],
      empty: [''],
      größe: ['M'],
    });
  });

  it('multipart: a name with an escaped quote, as browsers encode it', async () => {
    const body = multipart('b', ['Content-Disposition: form-data; name="a%22b"\r\n\r\nv']);
    expect(entries(await parseMultipart(body, 'multipart/form-data; boundary=b'))).toEqual({ 'a"b': ['v'] });
  });

  it('multipart: refuses files, missing boundaries and truncated bodies with a 400', async () => {
    const file = multipart('b', ['Content-Disposition: form-data; name="upload"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\nhello']);
    expect(await refused(() => parseMultipart(file, 'multipart/form-data; boundary=b'))).toMatchObject({ status: 400, fields: [{ path: 'upload' }] });
    expect((await refused(() => parseMultipart(Buffer.from('x'), 'multipart/form-data'))).message).toMatch(/no boundary/);
    const truncated = Buffer.from(`--b\r\n${field('sku', 'NL-TOP-001')}`);
    expect((await refused(() => parseMultipart(truncated, 'multipart/form-data; boundary=b'))).message).toMatch(/closing boundary is missing/);
    expect((await refused(() => parseMultipart(truncated, 'multipart/form-data; boundary=b'))).status).toBe(400);
  });

  it('multipart: skips a part without Content-Disposition: form-data, so the route names the missing field', async () => {
    const noDisposition = multipart('b', ['Content-Type: text/plain\r\n\r\nv', field('sku', 'NL-TOP-001')]);
    expect(entries(await parseMultipart(noDisposition, 'multipart/form-data; boundary=b'))).toEqual({ sku: ['NL-TOP-001'] });
  });

  it('refuses more than 100 fields', async () => {
    const many = Array.from({ length: 101 }, (_, i) => `f${i}=1`).join('&');
    expect((await refused(() => parseUrlEncoded(Buffer.from(many)))).status).toBe(413);
    const parts = Array.from({ length: 101 }, (_, i) => field(`f${i}`, '1'));
    expect((await refused(() => parseMultipart(multipart('b', parts), 'multipart/form-data; boundary=b'))).status).toBe(413);
    const hundred = Array.from({ length: 100 }, (_, i) => field(`f${i}`, '1'));
    expect((await parseMultipart(multipart('b', hundred), 'multipart/form-data; boundary=b')).size).toBe(100);
  });
});
