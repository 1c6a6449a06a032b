/**
 * Unexpected errors (bugs, corrupt data) are logged once with their stack, method, route and
 * request id; the client gets INTERNAL with the request id and no internals, and `retriable`
 * says whether retrying this request is safe.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSluice } from '../../lib/compose';
import { CorruptDataError } from '../../lib/errors';
import { createHttpApp } from '../../lib/http/app';
import type { UnexpectedError } from '../../lib/http/errors';
import { translated } from '../../lib/storage/aws-errors';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';

/** A store with a bug: reading the topic "explode" throws a TypeError, "rotten" corrupt data. */
function buggyLog() {
  const metadata = new MemoryLogMetadataStore();
  const getTopic = metadata.getTopic.bind(metadata);
  metadata.getTopic = async (name: string) => {
    if (name === 'explode') throw new TypeError("Cannot read properties of undefined (reading 'nextOffset')");
    if (name === 'rotten') throw new CorruptDataError('chunk at s/1@0 failed its CRC check');
    return getTopic(name);
  };
  return createSluice({ objects: new MemoryObjectStore(), metadata });
}

const post = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

afterEach(() => vi.restoreAllMocks());

describe('unexpected errors', () => {
  it('are reported once with stack, method, route and request id; the client gets INTERNAL and the id', async () => {
    const reported: UnexpectedError[] = [];
    const app = createHttpApp(buggyLog(), { onUnexpectedError: (u) => reported.push(u) });
    const res = await app.request('/v1/topics/explode/records', post({ records: [{ value: 'x' }] }));
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: Record<string, unknown> };
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.error).toMatchObject({ code: 'INTERNAL', retriable: false, requestId });
    // the client is told what to do, not what broke
    expect(String(body.error.message)).toContain(requestId);
    expect(String(body.error.message)).not.toContain('nextOffset');
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ method: 'POST', route: '/v1/topics/:t/records', requestId });
    expect(((reported[0] as UnexpectedError).error as Error).stack).toContain('TypeError');
  });

  it('are retriable exactly when retrying the request is safe: reads, and writes with an Idempotency-Key', async () => {
    const app = createHttpApp(buggyLog(), { onUnexpectedError: () => {} });
    const retriable = async (r: Response) => ((await r.json()) as { error: { retriable: boolean } }).error.retriable;
    expect(await retriable(await app.request('/v1/topics/explode'))).toBe(true);
    expect(await retriable(await app.request('/v1/topics/explode/records', post({ records: [{ value: 'x' }] })))).toBe(
      false,
    );
    const keyed = post({ records: [{ value: 'x' }] }, { 'idempotency-key': 'order-1' });
    expect(await retriable(await app.request('/v1/topics/explode/records', keyed))).toBe(true);
  });

  it('corrupt data is reported too, and keeps its own code', async () => {
    const reported: UnexpectedError[] = [];
    const app = createHttpApp(buggyLog(), { onUnexpectedError: (u) => reported.push(u) });
    const res = await app.request('/v1/topics/rotten');
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CORRUPT_DATA');
    expect(reported).toHaveLength(1);
  });

  it('expected errors are not reported; every answer carries a request id', async () => {
    const reported: UnexpectedError[] = [];
    const app = createHttpApp(buggyLog(), { onUnexpectedError: (u) => reported.push(u) });
    const missing = await app.request('/v1/topics/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toBeTruthy();
    expect((await app.request('/v1/health')).headers.get('x-request-id')).toBeTruthy();
    expect(reported).toEqual([]);
  });

  it("the response hook is told each error answer's code (without re-reading the body)", async () => {
    const seen: (string | undefined)[] = [];
    const app = createHttpApp(buggyLog(), {
      onUnexpectedError: () => {},
      onResponse: (r) => seen.push(`${r.status} ${r.errorCode ?? '-'}`),
    });
    await app.request('/v1/topics/nope');
    await app.request('/v1/topics', post({ name: 'x', partitions: 'many' }));
    await app.request('/v1/nowhere');
    await app.request('/v1/topics/explode');
    await app.request('/v1/health');
    expect(seen).toEqual([
      '404 TOPIC_NOT_FOUND',
      '400 INVALID_ARGUMENT',
      '404 INVALID_ARGUMENT',
      '500 INTERNAL',
      '200 -',
    ]);
  });

  it("a storage error's SDK message (account, role and table ARNs) reaches the operator's log, never the client", async () => {
    const leak =
      'User: arn:aws:sts::123456789012:assumed-role/Sluice-ApiRole/fn is not authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/Sluice-Metadata';
    const sdkError = (name: string, status: number) =>
      Object.assign(new Error(leak), { name, $metadata: { httpStatusCode: status }, $fault: 'client' });
    const reported: UnexpectedError[] = [];
    for (const [name, status, code, answered] of [
      ['AccessDeniedException', 400, 'INTERNAL', 500],
      ['InternalServerError', 500, 'UNAVAILABLE', 503],
      ['ThrottlingException', 400, 'THROTTLED', 429],
    ] as const) {
      const metadata = new MemoryLogMetadataStore();
      metadata.listTopics = () => translated('list topics', () => Promise.reject(sdkError(name, status)));
      const app = createHttpApp(createSluice({ objects: new MemoryObjectStore(), metadata }), {
        onUnexpectedError: (u) => reported.push(u),
      });
      const res = await app.request('/v1/topics');
      expect(res.status).toBe(answered);
      const text = await res.text();
      for (const secret of ['123456789012', 'arn:aws', 'Sluice-ApiRole', 'Sluice-Metadata', 'not authorized']) {
        expect(text).not.toContain(secret);
      }
      const body = JSON.parse(text) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ code, requestId: res.headers.get('x-request-id') });
      if (code !== 'INTERNAL') expect(body.error.message).toBe(`list topics: ${name} (HTTP ${status})`);
    }
    // the operator gets each one with the SDK's error as its cause: a bug as unexpected, the rest as warnings
    expect(reported.map((r) => [r.unexpected, ((r.error as Error).cause as Error).message])).toEqual([
      [true, leak],
      [false, leak],
      [false, leak],
    ]);
  });

  it('by default go to stderr as one JSON line with the stack', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    const app = createHttpApp(buggyLog());
    const res = await app.request('/v1/topics/explode');
    expect(lines).toHaveLength(1);
    const logged = JSON.parse(lines[0] as string);
    expect(logged).toMatchObject({
      level: 'ERROR',
      message: 'unexpected error',
      method: 'GET',
      route: '/v1/topics/:t',
      requestId: res.headers.get('x-request-id'),
    });
    expect(logged.error.stack).toContain('TypeError');
  });

  it('a path the API has, asked with a method it does not take, is 405 with Allow; an unknown path is 404', async () => {
    const app = createHttpApp(buggyLog(), { onUnexpectedError: () => {} });
    const cases: [string, string, number, string | null][] = [
      ['DELETE', '/v1/health', 405, 'GET, HEAD'],
      ['PUT', '/v1/topics', 405, 'GET, HEAD, POST'],
      ['POST', '/v1/topics/orders', 405, 'DELETE, GET, HEAD, PATCH'],
      ['GET', '/v1/topics/orders/records', 405, 'POST'],
      ['GET', '/v1/topics/orders/partitions/0/records:deleteBefore', 405, 'POST'],
      ['GET', '/v1/nowhere', 404, null],
    ];
    for (const [method, path, status, allow] of cases) {
      const res = await app.request(path, { method });
      expect([method, path, res.status, res.headers.get('allow')]).toEqual([method, path, status, allow]);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe(status === 405 ? 'METHOD_NOT_ALLOWED' : 'INVALID_ARGUMENT');
    }
  });
});
