import { DynamoTable, parseIdempotency, parseProducer } from './dynamo-table';
import { keys } from './layout';
import type { DedupeState, IdempotencyRecord, ProducerRecord } from './ports';

/** What idempotency keys and producer sequences answered (written by the commit). */
export class DynamoDedupeState extends DynamoTable implements DedupeState {
  async getIdempotency(key: string, nowMs: number): Promise<IdempotencyRecord | undefined> {
    const item = await this.getItem(keys.idempotency(key), 'get idempotency key');
    if (!item || (item.expiresAtMs as number) < nowMs) return undefined;
    return parseIdempotency(item);
  }

  async getProducer(producerId: string, nowMs: number): Promise<ProducerRecord | undefined> {
    const item = await this.getItem(keys.producer(producerId), 'get producer');
    if (!item || (item.expiresAtMs as number) < nowMs) return undefined;
    return parseProducer(item);
  }
}
