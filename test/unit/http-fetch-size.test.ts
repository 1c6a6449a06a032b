/**
 * A fetch answer fits what Lambda can return: cut before it would outgrow the limit (as the
 * Lambda response envelope carries it, escaped once more), `nextOffset` moved back to the
 * first record left out; a record that alone does not fit as UTF-8 is RECORD_TOO_LARGE,
 * naming encoding=base64, which answers it.
 */
import { describe, expect, it } from 'vitest';
import { createSluice } from '../../lib/compose';
import { createHttpApp } from '../../lib/http/app';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';

const MIB = 1024 * 1024;

async function setup() {
  const core = createSluice({ objects: new MemoryObjectStore(), metadata: new MemoryLogMetadataStore() });
  await core.log.createTopic({ name: 'big', partitions: 1 });
  return { core, app: createHttpApp(core) };
}

/** The answer's size inside a Lambda response (the body as one JSON string). */
const enveloped = (body: string) => Buffer.byteLength(JSON.stringify({ statusCode: 200, body }));

describe('fetch answers within the Lambda response limit', () => {
  it('cuts a fetch whose JSON would not fit, and resumes at the first record left out', async () => {
    const t = await setup();
    // 8 records of 1 MiB of text: 8 MiB, more than any answer may carry
    for (let i = 0; i < 8; i++) {
      await t.core.log.append({
        batches: [{ topic: 'big', records: [{ value: Buffer.alloc(MIB, 0x61 + i), partition: 0 }] }],
      });
    }
    let offset = 0;
    const seen: number[] = [];
    while (offset < 8) {
      const res = await t.app.request(
        `/v1/topics/big/partitions/0/records?offset=${offset}&maxBytes=${6 * MIB}&maxRecords=100`,
      );
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(enveloped(text)).toBeLessThanOrEqual(6 * 1024 * 1024);
      const body = JSON.parse(text) as { records: { offset: number; value: string }[]; nextOffset: number };
      expect(body.records.length).toBeGreaterThan(0);
      expect(body.nextOffset).toBe((body.records.at(-1)?.offset as number) + 1);
      seen.push(...body.records.map((r) => r.offset));
      offset = body.nextOffset;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('a record of control bytes too large as UTF-8 JSON names base64, which answers it', async () => {
    const t = await setup();
    await t.core.log.append({
      batches: [{ topic: 'big', records: [{ value: Buffer.alloc(MIB, 0x01), partition: 0 }] }],
    });
    const utf8 = await t.app.request('/v1/topics/big/partitions/0/records?offset=0');
    expect(utf8.status).toBe(413);
    const err = ((await utf8.json()) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('RECORD_TOO_LARGE');
    expect(err.message).toContain('encoding=base64');
    const b64 = await t.app.request('/v1/topics/big/partitions/0/records?offset=0&encoding=base64');
    expect(b64.status).toBe(200);
    const text = await b64.text();
    expect(enveloped(text)).toBeLessThanOrEqual(6 * 1024 * 1024);
    const body = JSON.parse(text) as { records: { value: string }[] };
    expect(Buffer.from(body.records[0]?.value ?? '', 'base64').equals(Buffer.alloc(MIB, 0x01))).toBe(true);
  });
});
