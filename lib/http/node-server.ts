/**
 * The local Node server for the HTTP app (the Lambda adapter serves the same app on AWS).
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { OpenAPIHono } from '@hono/zod-openapi';

/** A running server. */
export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

/** The names this machine answers to on loopback: what a browser's request to it carries as Host. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The host name of a Host header (`127.0.0.1:8787` → `127.0.0.1`, `[::1]:8787` → `[::1]`). */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : (h.split(':')[0] ?? '');
}

/**
 * Serves `app` on `hostname:port` (port 0 picks a free one). A request whose Host is not a
 * loopback name is refused (403 FORBIDDEN) before the app sees it: a web page could otherwise
 * reach this server by DNS rebinding (its own name resolving to 127.0.0.1).
 */
export function serveHttpApp(
  app: { fetch: OpenAPIHono['fetch'] },
  port: number,
  hostname = '127.0.0.1',
): Promise<RunningServer> {
  const guarded: OpenAPIHono['fetch'] = (request, ...rest) => {
    const host = request.headers.get('host') ?? '';
    if (!LOOPBACK_HOSTS.has(hostName(host))) {
      const message = `this server answers requests to 127.0.0.1 or localhost only, not to host "${host.slice(0, 100)}"`;
      return Response.json({ error: { code: 'FORBIDDEN', message, retriable: false } }, { status: 403 });
    }
    return app.fetch(request, ...rest);
  };
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: guarded, port, hostname }, (info: AddressInfo) => {
      resolve({
        url: `http://${hostname}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // long-polls must not hold the shutdown
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}
