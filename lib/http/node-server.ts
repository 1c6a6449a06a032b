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

/** Serves `app` on `hostname:port` (port 0 picks a free one). */
export function serveHttpApp(
  app: { fetch: OpenAPIHono['fetch'] },
  port: number,
  hostname = '127.0.0.1',
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info: AddressInfo) => {
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
