import { get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventStream } from '../../src/http/preview/event-stream.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function serve(stream: EventStream): Promise<string> {
  const app = express();
  app.get('/events', (req, res) => stream.open(req, res, { event: 'templates', data: { version: 1 } }));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server!.once('listening', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/events`;
}

function connect(url: string): Promise<{ res: IncomingMessage; text: () => string }> {
  return new Promise((resolve) =>
    get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      resolve({ res, text: () => text });
    }),
  );
}

describe('EventStream', () => {
  it('sends the first event on connect and each later one to every client; tracks the first and last client', async () => {
    const onFirst = vi.fn();
    const onLast = vi.fn();
    const stream = new EventStream({ onFirst, onLast });
    const url = await serve(stream);
    const a = await connect(url);
    const b = await connect(url);
    expect(a.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(onFirst).toHaveBeenCalledTimes(1);
    stream.send('templates', { version: 2 });
    for (const c of [a, b]) {
      await vi.waitFor(() => expect(c.text()).toBe('retry: 500\n\nevent: templates\ndata: {"version":1}\n\nevent: templates\ndata: {"version":2}\n\n'));
    }
    a.res.destroy();
    b.res.destroy();
    await vi.waitFor(() => expect(onLast).toHaveBeenCalledTimes(1));
    expect(stream.size).toBe(0);
  });

  // A stream never ends by itself: without this an open tab holds a graceful shutdown for its whole timeout.
  it('ends open streams once the service drains', async () => {
    let draining = false;
    const stream = new EventStream({ draining: () => draining });
    const { res } = await connect(await serve(stream));
    const ended = new Promise((resolve) => res.once('end', resolve));
    draining = true;
    await ended;
    expect(stream.size).toBe(0);
  });
});
