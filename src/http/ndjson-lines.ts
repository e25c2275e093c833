import type { Readable } from 'node:stream';

export interface NdjsonLine {
  /** 1-based line number in the request body, counting blank lines, so callers can find it in their file. */
  number: number;
  text: string;
}

export class BodyLimitExceeded extends Error {
  constructor(readonly limit: number, readonly lastLine: number) {
    super(`body exceeds ${limit} bytes after line ${lastLine}`);
    this.name = 'BodyLimitExceeded';
  }
}

/**
 * Splits a byte stream into lines as chunks arrive. Pulling from the stream only when the
 * consumer asks for the next line is what gives backpressure: while the caller awaits (a
 * render, a full socket), nothing more is read and TCP flow control slows the sender.
 *
 * Bytes are counted as they arrive: the chunk that crosses `limit` makes the generator throw
 * BodyLimitExceeded (lines of earlier chunks have been yielded). A line longer than
 * `maxLineBytes` comes out as `{ tooLong: true }` and is never buffered whole, so one huge
 * line cannot hold the process's memory.
 */
export async function* ndjsonLines(
  input: AsyncIterable<Buffer | string> & Readable,
  options: { limit: number; maxLineBytes: number },
): AsyncGenerator<NdjsonLine | { number: number; tooLong: true }> {
  let received = 0;
  let number = 0;
  // Partial line carried between chunks, kept as Buffers so a multi-byte UTF-8 character split
  // across chunks is decoded whole.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let skipping = false;

  for await (const raw of input) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    received += chunk.length;
    if (received > options.limit) throw new BodyLimitExceeded(options.limit, number);
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
      number++;
      if (skipping) {
        skipping = false;
        yield { number, tooLong: true };
      } else {
        const piece = chunk.subarray(start, nl);
        const line = carryBytes ? Buffer.concat([...carry, piece]) : piece;
        carry = [];
        carryBytes = 0;
        if (line.length > options.maxLineBytes) yield { number, tooLong: true };
        else yield { number, text: line.toString('utf8') };
      }
      start = nl + 1;
    }
    if (start < chunk.length && !skipping) {
      const rest = chunk.subarray(start);
      carryBytes += rest.length;
      if (carryBytes > options.maxLineBytes) {
        skipping = true;
        carry = [];
        carryBytes = 0;
      } else {
        // A copy, so the kept tail does not pin the whole chunk in memory.
        carry.push(Buffer.from(rest));
      }
    }
  }
  if (skipping) yield { number: number + 1, tooLong: true };
  else if (carryBytes) yield { number: number + 1, text: Buffer.concat(carry).toString('utf8') };
}
