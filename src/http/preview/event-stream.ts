import type { Request, Response } from 'express';

export interface EventStreamOptions {
  /** True once the service is shutting down: open streams are ended so `server.close()` can finish. */
  draining?: () => boolean;
  /** Comment lines at this interval keep proxies from closing a quiet stream. */
  heartbeatMs?: number;
  /** The first client connected / the last one left. */
  onFirst?: () => void;
  onLast?: () => void;
}

/**
 * Server-sent events to the open preview pages (HTML Living Standard §9.2). A stream never
 * ends by itself, so the hub checks every second whether the service is draining; otherwise
 * a graceful shutdown would wait for its timeout on every open tab.
 */
export class EventStream {
  private readonly clients = new Set<Response>();
  private timer?: NodeJS.Timeout;
  private sinceBeat = 0;

  constructor(private readonly o: EventStreamOptions = {}) {}

  get size(): number {
    return this.clients.size;
  }

  /** Answers `req` with an event stream that starts with `first`. */
  open(req: Request, res: Response, first: { event: string; data: unknown }): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // nginx buffers responses by default, which would hold events back.
      'X-Accel-Buffering': 'no',
    });
    // EventSource waits ~3 s before reconnecting by default; a restarted `npm run preview` should be picked up at once.
    res.write('retry: 500\n\n');
    res.write(frame(first.event, first.data));
    this.clients.add(res);
    if (this.clients.size === 1) {
      this.timer = setInterval(() => this.tick(), 1000);
      this.o.onFirst?.();
    }
    req.once('close', () => this.drop(res));
  }

  send(event: string, data: unknown): void {
    const text = frame(event, data);
    for (const res of this.clients) res.write(text);
  }

  closeAll(): void {
    for (const res of [...this.clients]) {
      res.end();
      this.drop(res);
    }
  }

  private drop(res: Response): void {
    if (!this.clients.delete(res) || this.clients.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.o.onLast?.();
  }

  private tick(): void {
    if (this.o.draining?.()) {
      this.closeAll();
      return;
    }
    this.sinceBeat += 1000;
    if (this.sinceBeat < (this.o.heartbeatMs ?? 15_000)) return;
    this.sinceBeat = 0;
    for (const res of this.clients) res.write(': ping\n\n');
  }
}

function frame(event: string, data: unknown): string {
  // JSON has no raw newlines, so one `data:` line carries it whole.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
