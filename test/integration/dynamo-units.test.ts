/**
 * The unit arithmetic against DynamoDB Local's own accounting for single-item operations
 * (right there; only its multi-action transactions are wrong, ECONOMICS §1): items of
 * every attribute type, sized across the 1 KB and 4 KB boundaries.
 */
import { type AttributeValue, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { itemSize, readUnits, writeUnits } from '../../lib/storage/dynamo-units';
import { realStores } from '../support/real';

/** An item of every attribute type whose size is `pad` bytes of string plus a fixed part. */
function item(id: number, pad: number): Record<string, AttributeValue> {
  return {
    pk: { S: `UNITS#${String(id).padStart(3, '0')}` },
    sk: { S: 'META' },
    n: { N: '1767225600123' },
    b: { B: new Uint8Array(17) },
    t: { BOOL: true },
    z: { NULL: true },
    l: { L: [{ S: 'ab' }, { N: '12' }] },
    m: { M: { k: { S: 'v' }, kk: { SS: ['x', 'yy'] } } },
    s: { S: 'x'.repeat(pad) },
  };
}

describe('DynamoDB unit arithmetic vs DynamoDB Local', () => {
  it('PutItem and a consistent GetItem cost what itemSize, writeUnits and readUnits say', async () => {
    const stores = await realStores();
    const fixed = itemSize(item(0, 0));
    // sizes just below, at and above 1 KB, 2 KB and 4 KB
    const targets = [500, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097, 9000];
    for (const [i, target] of targets.entries()) {
      const it = item(i, target - fixed);
      expect(itemSize(it)).toBe(target);
      const put = await stores.dynamo.send(
        new PutItemCommand({ TableName: stores.table, Item: it, ReturnConsumedCapacity: 'TOTAL' }),
      );
      expect(put.ConsumedCapacity?.CapacityUnits, `write of ${target} bytes`).toBe(writeUnits(target));
      const get = await stores.dynamo.send(
        new GetItemCommand({
          TableName: stores.table,
          Key: { pk: it.pk as AttributeValue, sk: it.sk as AttributeValue },
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      expect(get.ConsumedCapacity?.CapacityUnits, `read of ${target} bytes`).toBe(readUnits(target, true));
    }
  });
});
