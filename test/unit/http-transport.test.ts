/**
 * The HTTP transport against answers that are not Sluice's own (a gateway's HTML error
 * page, an IAM denial): clear errors, retriable only where a retry can help.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sluice } from '../../lib/client/sluice';
import type { SluiceError } from '../../lib/errors';

let server: Server;
let url: string;
const answers: Record<string, { status: number; type: string; body: string }> = {
  '/v1/topics/gateway': { status: 502, type: 'text/html', body: '<html><h1>502 Bad Gateway</h1></html>' },
  '/v1/topics/denied': { status: 403, type: 'application/json', body: '{"Message":"Forbidden"}' },
  '/v1/topics/busy': { status: 429, type: 'application/json', body: '{"Reason":"ConcurrentInvocationLimitExceeded"}' },
  '/v1/topics/garbled': { status: 200, type: 'application/json', body: '{"name": "garbled", ' },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const a = answers[req.url ?? ''] ?? { status: 404, type: 'text/plain', body: 'no' };
    res.writeHead(a.status, { 'content-type': a.type });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function errorOf(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (e) {
    return e as SluiceError;
  }
  throw new Error('expected a rejection');
}

describe('HTTP transport, answers that are not Sluice error bodies', () => {
  it('a gateway error page is UNAVAILABLE (retriable), an IAM denial is not retriable, 429 is THROTTLED', async () => {
    const t = new Sluice({ http: { url } }).transport;
    expect(await errorOf(t.describeTopic('gateway'))).toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    const denied = await errorOf(t.describeTopic('denied'));
    expect(denied).toMatchObject({ retriable: false });
    expect(denied.message).toContain('403');
    expect(denied.message).toContain('Forbidden');
    expect(await errorOf(t.describeTopic('busy'))).toMatchObject({ code: 'THROTTLED', retriable: true });
    expect(await errorOf(t.describeTopic('garbled'))).toMatchObject({ code: 'INTERNAL' });
  });
});
