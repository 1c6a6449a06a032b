/**
 * The local server answers only requests addressed to a loopback name: a web page that
 * rebinds its own domain to 127.0.0.1 gets 403, whatever the route.
 */
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createSluice } from '../../lib/compose';
import { createHttpApp } from '../../lib/http/app';
import { type RunningServer, serveHttpApp } from '../../lib/http/node-server';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';

let server: RunningServer | undefined;
afterAll(() => server?.close());

function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('the local server', () => {
  it('answers loopback host names only (no DNS rebinding)', async () => {
    const core = createSluice({
      objects: new MemoryObjectStore(),
      metadata: new MemoryLogMetadataStore(),
      groups: new MemoryGroupStore(),
    });
    server = await serveHttpApp(createHttpApp(core), 0);
    const port = Number(new URL(server.url).port);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
      expect((await get(port, '/v1/health', host)).status, host).toBe(200);
    }
    for (const host of [`evil.example:${port}`, '127.0.0.1.evil.example', `localhost.evil:${port}`]) {
      const r = await get(port, '/v1/topics', host);
      expect(r.status, host).toBe(403);
      expect(JSON.parse(r.body).error).toMatchObject({ code: 'FORBIDDEN', retriable: false });
    }
  });
});
