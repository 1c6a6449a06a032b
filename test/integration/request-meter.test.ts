/**
 * The cost meter on real clients against the local backends: single-item DynamoDB operations
 * priced as DynamoDB Local itself accounts them (right for single items), transactions by
 * AWS's documented rule (ECONOMICS §1: 2 actions of 1.5 KB bill 8 units, which DynamoDB Local
 * reports as 4), charged failures, retried attempts, S3 requests by class.
 */
import {
  type AttributeValue,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BatchGetCommand, QueryCommand as DocQueryCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { documentClient, localDynamoClient } from '../../lib/local/clients';
import { keys } from '../../lib/storage/layout';
import { RequestMeter } from '../../lib/storage/request-meter';
import { realStores } from '../support/real';
import { loseResponses } from '../support/sdk-faults';

const pad = (n: number): AttributeValue => ({ S: 'x'.repeat(n) });
const key = (id: string) => ({ pk: { S: id }, sk: { S: 'META' } });

async function metered() {
  const stores = await realStores();
  const meter = new RequestMeter(localDynamoClient(inject('backends').dynamoEndpoint));
  meter.attachDynamo(stores.dynamo, 'test');
  meter.attachS3(stores.s3, 'test');
  return { stores, meter, t: () => meter.tally('test') };
}

describe('RequestMeter', () => {
  it('prices single-item writes and reads as DynamoDB accounts them, updates on the larger image', async () => {
    const { stores, meter, t } = await metered();
    const table = stores.table;
    const put = (id: string, bytes: number) => () =>
      stores.dynamo.send(
        new PutItemCommand({ TableName: table, Item: { ...key(id), s: pad(bytes) }, ReturnConsumedCapacity: 'TOTAL' }),
      );
    const update = (id: string, bytes: number) => () =>
      stores.dynamo.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key(id),
          UpdateExpression: 'SET s = :s',
          ExpressionAttributeValues: { ':s': pad(bytes) },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
    const cases: { what: string; send: () => Promise<{ ConsumedCapacity?: { CapacityUnits?: number } }> }[] = [
      { what: 'put 1.5 KB', send: put('a', 1500) },
      { what: 'replace with 300 B (billed on the larger, replaced image)', send: put('a', 300) },
      { what: 'update growing 300 B to 2.5 KB', send: update('a', 2500) },
      { what: 'update shrinking 2.5 KB to 10 B', send: update('a', 10) },
      { what: 'put 5 KB', send: put('b', 5000) },
      {
        what: 'consistent get of 5 KB',
        send: () =>
          stores.dynamo.send(
            new GetItemCommand({
              TableName: table,
              Key: key('b'),
              ConsistentRead: true,
              ReturnConsumedCapacity: 'TOTAL',
            }),
          ),
      },
      {
        what: 'eventual get of 5 KB',
        send: () =>
          stores.dynamo.send(new GetItemCommand({ TableName: table, Key: key('b'), ReturnConsumedCapacity: 'TOTAL' })),
      },
    ];
    for (const c of cases) {
      const before = t().wru + t().rru;
      const r = await c.send();
      await meter.settle();
      expect(t().wru + t().rru - before, c.what).toBe(r.ConsumedCapacity?.CapacityUnits);
    }
    expect(t().commands).toMatchObject({ 'DynamoDB:PutItem': 3, 'DynamoDB:UpdateItem': 2, 'DynamoDB:GetItem': 2 });

    // through the adapters' DocumentClient (its responses reach the meter unmarshalled)
    const doc = documentClient(stores.dynamo);
    const before = t().rru;
    await doc.send(new GetCommand({ TableName: table, Key: { pk: 'b', sk: 'META' }, ConsistentRead: true }));
    await doc.send(
      new DocQueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': 'b' },
        ConsistentRead: true,
      }),
    );
    expect(t().rru - before).toBe(4); // 5 KB twice: 2 + 2
    expect(t().commands).toMatchObject({ 'DynamoDB:GetItem': 3, 'DynamoDB:Query': 1 });

    // a BatchGet pays for every key it reads, a missing item at the minimum
    const batch = t().rru;
    await doc.send(
      new BatchGetCommand({
        RequestItems: {
          [table]: {
            Keys: [
              { pk: 'b', sk: 'META' },
              { pk: 'absent', sk: 'META' },
            ],
            ConsistentRead: true,
          },
        },
      }),
    );
    expect(t().rru - batch).toBe(3); // 5 KB: 2, absent: 1
    const eventual = t().rru;
    await doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: [{ pk: 'absent', sk: 'META' }] } } }));
    expect(t().rru - eventual).toBe(0.5);
  });

  it('sums a Query page before rounding, doubles transactions, and charges failed conditions', async () => {
    const { stores, meter, t } = await metered();
    const table = stores.table;
    for (const sk of ['1', '2', '3']) {
      await stores.dynamo.send(
        new PutItemCommand({ TableName: table, Item: { pk: { S: 'q' }, sk: { S: sk }, s: pad(1500) } }),
      );
    }
    await meter.reset();
    await stores.dynamo.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'q' } },
        ConsistentRead: true,
      }),
    );
    expect(t().rru).toBe(2); // 3 × ~1.5 KB = ~4.5 KB: 2 units, not 3

    await meter.reset();
    await stores.dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { ...key('t1'), s: pad(1500) } } },
          { Put: { TableName: table, Item: { ...key('t2'), s: pad(1500) } } },
        ],
      }),
    );
    await meter.settle();
    expect(t().wru).toBe(8); // ECONOMICS §1: 2 actions of 1.5 KB, AWS bills 8

    await meter.reset();
    await stores.dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { ConditionCheck: { TableName: table, Key: key('t1'), ConditionExpression: 'attribute_exists(pk)' } },
          {
            Update: {
              TableName: table,
              Key: key('t2'),
              UpdateExpression: 'SET s = :s',
              ExpressionAttributeValues: { ':s': pad(3000) },
            },
          },
          { Delete: { TableName: table, Key: key('q') } },
        ],
      }),
    );
    await meter.settle();
    // condition on 1.5 KB: 2×2; update 1.5 KB → 3 KB: 2×3; delete of an absent item: 2×1
    expect(t().wru).toBe(12);

    await meter.reset();
    await expect(
      stores.dynamo.send(
        new PutItemCommand({
          TableName: table,
          Item: { ...key('t2'), s: pad(10) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(t()).toMatchObject({ wru: 3, chargedFailures: 1 }); // the existing 3 KB item
  });

  it('reports the units by the kind of item they were spent on', async () => {
    const { stores, meter, t } = await metered();
    const table = stores.table;
    const av = (k: { pk: string; sk: string }) => ({ pk: { S: k.pk }, sk: { S: k.sk } });
    const head = av(keys.headShard('t', 0));
    await stores.dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { ...head, s: pad(1500) } } },
          { Put: { TableName: table, Item: { ...av(keys.callItem('t', 0, 1)), s: pad(10) } } },
          { Put: { TableName: table, Item: { ...av(keys.lease('g', 't', 0)), s: pad(10) } } },
        ],
      }),
    );
    await stores.dynamo.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: keys.callsPk('t', 0) } },
      }),
    );
    await stores.dynamo.send(new GetItemCommand({ TableName: table, Key: head, ConsistentRead: true }));
    await meter.settle();
    expect(t().items).toEqual({
      'head shard': { wru: 4, rru: 1 },
      'call item': { wru: 2, rru: 0.5 },
      lease: { wru: 2, rru: 0 },
    });
  });

  it('counts every attempt the SDK sends, retries included, and S3 requests by class', async () => {
    const { stores, meter, t } = await metered();
    loseResponses(stores.dynamo, /PutItem/, 'inside-retries');
    await stores.dynamo.send(new PutItemCommand({ TableName: stores.table, Item: { ...key('r'), s: pad(10) } }));
    expect(t().commands['DynamoDB:PutItem']).toBe(2); // the lost response and its retry

    await meter.reset();
    const Bucket = stores.bucket;
    await stores.s3.send(new PutObjectCommand({ Bucket, Key: 'o1', Body: new Uint8Array(1000) }));
    await stores.s3.send(new PutObjectCommand({ Bucket, Key: 'o2', Body: new Uint8Array(10) }));
    const got = await stores.s3.send(new GetObjectCommand({ Bucket, Key: 'o1', Range: 'bytes=0-99' }));
    await got.Body?.transformToByteArray();
    await stores.s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'o1' }, { Key: 'o2' }] } }));
    expect(t()).toMatchObject({ s3Put: 2, s3Get: 1, s3Free: 1, s3PutBytes: 1010, s3GetBytes: 100 });
  });
});
