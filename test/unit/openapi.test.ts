/**
 * The OpenAPI document declares what the server enforces: name patterns, key patterns and
 * the server's own ranges — so a client generated from it can validate before it sends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSluice } from '../../lib/compose';
import { createHttpApp } from '../../lib/http/app';
import { checkRecord, produceLimits } from '../../lib/records/validate';
import {
  DEFAULT_LOG_SETTINGS,
  IDEMPOTENCY_KEY_PATTERN,
  idempotencyKeyProblem,
  TOPIC_NAME_PATTERN,
  topicNameProblem,
} from '../../lib/settings';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';

// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON document, walked by the assertions
type Json = Record<string, any>;

async function documentOf(settings: Parameters<typeof createSluice>[1] = {}): Promise<Json> {
  const app = createHttpApp(
    createSluice(
      { objects: new MemoryObjectStore(), metadata: new MemoryLogMetadataStore(), groups: new MemoryGroupStore() },
      settings,
    ),
  );
  return (await (await app.request('/v1/openapi.json')).json()) as Json;
}

const param = (doc: Json, path: string, method: string, name: string) =>
  (doc.paths[path][method].parameters as Json[]).find((p) => p.name === name)?.schema;

describe('OpenAPI document', () => {
  it('declares the name and key patterns and the ranges the server enforces', async () => {
    const doc = await documentOf();
    expect(param(doc, '/v1/topics/{t}', 'get', 't')).toMatchObject({ pattern: TOPIC_NAME_PATTERN, maxLength: 249 });
    expect(param(doc, '/v1/groups/{g}', 'get', 'g')).toMatchObject({ pattern: TOPIC_NAME_PATTERN });
    expect(param(doc, '/v1/groups/{g}/members/{m}', 'delete', 'm')).toMatchObject({ pattern: IDEMPOTENCY_KEY_PATTERN });
    expect(param(doc, '/v1/topics/{t}/records', 'post', 'idempotency-key')).toMatchObject({
      pattern: IDEMPOTENCY_KEY_PATTERN,
    });
    const create = doc.components.schemas.CreateTopic.properties;
    expect(create.name).toMatchObject({ pattern: TOPIC_NAME_PATTERN });
    expect(create.partitions).toMatchObject({ minimum: 1, maximum: 1024 });
    expect(param(doc, '/v1/topics/{t}/partitions/{p}/records', 'get', 'maxRecords').description).toBe(
      'an integer in [1, 10000]',
    );
    expect(param(doc, '/v1/topics/{t}/partitions/{p}/records', 'get', 'p').description).toBe('an integer in [0, 1023]');
    expect(doc.components.schemas.ProduceRequest.properties.records).toMatchObject({ minItems: 1, maxItems: 10_000 });
  });

  it('declares the limits of the server it describes, not the defaults', async () => {
    const doc = await documentOf({ log: { maxPartitionsPerTopic: 12, maxFetchRecords: 50, maxRecordsPerCall: 7 } });
    expect(doc.components.schemas.CreateTopic.properties.partitions).toMatchObject({ maximum: 12 });
    expect(param(doc, '/v1/topics/{t}/partitions/{p}/records', 'get', 'maxRecords').description).toBe(
      'an integer in [1, 50]',
    );
    expect(doc.components.schemas.ProduceRequest.properties.records.maxItems).toBe(7);
  });

  it('the declared patterns accept exactly what the validators accept', () => {
    const topic = new RegExp(TOPIC_NAME_PATTERN);
    const key = new RegExp(IDEMPOTENCY_KEY_PATTERN);
    const names = fc.oneof(
      fc.string({ maxLength: 260 }),
      fc.stringMatching(/^[a-zA-Z0-9._-]{0,251}$/),
      fc.constantFrom('.', '..', '...', '__x', '_x', 'a'.repeat(249), 'a'.repeat(250)),
    );
    fc.assert(
      fc.property(names, (n) => topic.test(n) === (topicNameProblem(n) === undefined)),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 130 }), fc.stringMatching(/^[A-Za-z0-9._:~-]{0,130}$/)), (k) => {
        return key.test(k) === (idempotencyKeyProblem(k) === undefined);
      }),
      { numRuns: 3000 },
    );
  });

  it('declares the header rules as the validator counts them (characters, as JSON Schema does)', async () => {
    const doc = await documentOf({ log: { maxHeaderNameLength: 8, maxHeadersPerRecord: 3 } });
    const headers = doc.components.schemas.ProduceRecord.properties.headers;
    expect(headers).toMatchObject({ maxProperties: 3, propertyNames: { minLength: 1, maxLength: 8 } });
    const limits = { ...produceLimits(DEFAULT_LOG_SETTINGS), maxHeaderNameLength: 8 };
    const accepts = (name: string) => {
      try {
        checkRecord({ value: null, headers: [[name, null]] }, limits, 'record 0');
        return true;
      } catch {
        return false;
      }
    };
    // JSON Schema's maxLength counts code points: a surrogate pair is one character
    const declared = (name: string) => {
      const n = [...name].length;
      return n >= 1 && n <= 8;
    };
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 })), (name) => {
        return accepts(name) === declared(name);
      }),
      { numRuns: 3000 },
    );
    expect(accepts('😀'.repeat(8))).toBe(true); // 32 bytes of UTF-8: the rule is not in bytes
    expect(accepts('😀'.repeat(9))).toBe(false);
  });
});
