import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A port that was free a moment ago, for a service in a child process whose port the test must
 * know up front: cluster workers cannot report a port-0 choice, and a restarted service listens
 * on the same port as the one it replaces.
 */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
