/**
 * The batch bench's client (http.bench.ts runs it in a child process): streams an NDJSON file
 * to POST /v1/render/batch and counts the result lines.
 *
 * The results are ~105 kB a line, 2 GB for 20,000 lines, and the client shares the 2-core bench
 * machine with the server. Node's HTTP client allocates a fresh buffer per socket read and
 * emits each body piece through a stream: measured on 20,000 lines it used ~4 s of CPU (user +
 * system), about as much as the server's main thread. So for an identity response this client
 * reads the socket into one reusable buffer (`net` `onread`) and decodes the chunked framing
 * itself: ~0.8 s of CPU for the same batch. A gzip response goes through Node's HTTP client
 * and a gunzip stream with large chunks.
 */
import { createReadStream, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { createGunzip } from 'node:zlib';

export interface BatchClientResult {
  status: number;
  encoding: string;
  lines: number;
  failed: number;
  firstError?: string;
  ms: number;
}

/** Counts lines and failed lines from byte ranges, looking only at the head of each line. */
class LineCounter {
  lines = 0;
  failed = 0;
  firstError: string | undefined;
  // The first bytes of the line being received (`{"line":N,"ok":…` fits in 40).
  private head = '';
  private inLine = false;

  feed(bytes: Buffer, from: number, to: number): void {
    let at = from;
    while (at < to) {
      if (!this.inLine) {
        this.head = '';
        this.inLine = true;
      }
      let nl = bytes.indexOf(10, at);
      if (nl >= to) nl = -1;
      const end = nl < 0 ? to : nl;
      if (this.head.length < 40) this.head += bytes.toString('latin1', at, Math.min(end, at + 40 - this.head.length));
      if (nl < 0) return;
      this.lines++;
      // JSON never holds a raw newline inside a line, so '\n' ends one.
      if (/^\{"line":\d+,"ok":false/.test(this.head)) {
        this.failed++;
        this.firstError ??= this.head;
      }
      this.inLine = false;
      at = nl + 1;
    }
  }
}

export function runBatchClient(url: string, file: string, apiKey: string, gzip: boolean): Promise<BatchClientResult> {
  return gzip ? gzipClient(url, file, apiKey) : rawClient(url, file, apiKey);
}

function gzipClient(url: string, file: string, apiKey: string): Promise<BatchClientResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/v1/render/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${apiKey}`, 'accept-encoding': 'gzip' },
    });
    req.once('error', reject);
    createReadStream(file).pipe(req);
    req.once('response', (res: IncomingMessage) => {
      const counter = new LineCounter();
      const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip({ chunkSize: 256 * 1024 })) : res;
      body.on('data', (chunk: Buffer) => counter.feed(chunk, 0, chunk.length));
      body.once('error', reject);
      body.once('end', () =>
        resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'] ?? 'identity', lines: counter.lines, failed: counter.failed, firstError: counter.firstError, ms: performance.now() - started }),
      );
    });
  });
}

/** HTTP/1.1 over a socket read into one buffer: status line, headers, then a chunked or sized body. */
function rawClient(url: string, file: string, apiKey: string): Promise<BatchClientResult> {
  const started = performance.now();
  const { hostname, port, host } = new URL(url);
  const counter = new LineCounter();
  return new Promise((resolve, reject) => {
    let state: 'head' | 'size' | 'data' | 'data-end' | 'sized' = 'head';
    let head = '';
    let status = 0;
    let sizeLine = '';
    let remaining = 0;
    const done = () => {
      socket.destroy();
      resolve({ status, encoding: 'identity', lines: counter.lines, failed: counter.failed, firstError: counter.firstError, ms: performance.now() - started });
    };
    const feed = (bytes: Buffer, n: number) => {
      let at = 0;
      while (at < n) {
        if (state === 'head') {
          head += bytes.toString('latin1', at, n);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          status = Number(head.slice(9, 12));
          const length = /\r\ncontent-length: *(\d+)/i.exec(head.slice(0, end));
          // What followed the headers in this read.
          at = n - (head.length - (end + 4));
          head = '';
          if (length) {
            state = 'sized';
            remaining = Number(length[1]);
          } else state = 'size';
        } else if (state === 'size') {
          const nl = bytes.indexOf(10, at);
          if (nl < 0 || nl >= n) {
            sizeLine += bytes.toString('latin1', at, n);
            return;
          }
          sizeLine += bytes.toString('latin1', at, nl);
          remaining = Number.parseInt(sizeLine, 16);
          sizeLine = '';
          at = nl + 1;
          if (remaining === 0) return done();
          state = 'data';
        } else if (state === 'data' || state === 'sized') {
          const take = Math.min(remaining, n - at);
          counter.feed(bytes, at, at + take);
          remaining -= take;
          at += take;
          if (remaining === 0) {
            if (state === 'sized') return done();
            state = 'data-end';
          }
        } else {
          // The CRLF after a chunk's data.
          const nl = bytes.indexOf(10, at);
          if (nl < 0 || nl >= n) return;
          at = nl + 1;
          state = 'size';
        }
      }
    };
    const socket = connect({
      host: hostname,
      port: Number(port),
      onread: {
        buffer: Buffer.allocUnsafe(1 << 20),
        callback: (n: number, bytes: Uint8Array) => {
          feed(bytes as Buffer, n);
          return true;
        },
      },
    });
    socket.once('error', reject);
    socket.once('end', () => reject(new Error(`the server closed the connection in state ${state}`)));
    socket.write(
      `POST /v1/render/batch HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-ndjson\r\nAuthorization: Bearer ${apiKey}\r\nContent-Length: ${statSync(file).size}\r\n\r\n`,
    );
    createReadStream(file).pipe(socket, { end: false });
  });
}
