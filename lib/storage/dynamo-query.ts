import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { translated } from './aws-errors';

/** Every item of one partition key (optionally: whose sort key starts with `skPrefix`), strongly consistent, following pagination. */
export async function queryPartition(
  db: DynamoDBDocumentClient,
  table: string,
  pk: string,
  what: string,
  skPrefix?: string,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await translated(what, () =>
      db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: skPrefix === undefined ? { ':pk': pk } : { ':pk': pk, ':prefix': skPrefix },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      ),
    );
    out.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

/**
 * Puts or deletes items 25 per BatchWriteItem. The SDK retries failed requests, but a
 * batch that succeeds with `UnprocessedItems` (throttled items) is not a failure to it:
 * those are resent here with a growing pause, as the DynamoDB guide asks.
 */
export async function batchWrite(
  db: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
  what: string,
): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending: WriteRequest[] = requests.slice(i, i + 25);
    for (let round = 0; pending.length > 0; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** round)));
      const res = await translated(what, () => db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } })));
      pending = (res.UnprocessedItems?.[table] ?? []) as WriteRequest[];
    }
  }
}

/**
 * Reads items 100 keys per BatchGetItem, asking again for `UnprocessedKeys` (which a
 * successful BatchGet may leave under load) with a growing pause. Missing items are absent.
 */
export async function batchGet(
  db: DynamoDBDocumentClient,
  table: string,
  itemKeys: readonly { pk: string; sk: string }[],
  consistent: boolean,
  what: string,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < itemKeys.length; i += 100) {
    let pending: Record<string, unknown>[] = itemKeys.slice(i, i + 100).map((k) => ({ pk: k.pk, sk: k.sk }));
    for (let round = 0; pending.length > 0; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** round)));
      const res = await translated(what, () =>
        db.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: consistent } } })),
      );
      out.push(...(res.Responses?.[table] ?? []));
      pending = (res.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return out;
}
