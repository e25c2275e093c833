import { describe, expect, it } from 'vitest';
import { toHttpError } from '../../src/http/http-error.ts';

describe('toHttpError', () => {
  it('keeps a body-parser refusal the client caused as its own 4xx, not a 500', () => {
    const err = Object.assign(new Error('too many parameters'), { type: 'parameters.too.many', status: 413 });
    expect(toHttpError(err)).toMatchObject({ status: 413, code: 'invalid_body' });
  });

  it('still hides unknown errors behind a 500 that reveals nothing', () => {
    const mapped = toHttpError(new Error('SELECT secret FROM …'));
    expect(mapped).toMatchObject({ status: 500, code: 'internal_error' });
    expect(mapped.message).not.toContain('secret');
  });
});
