/**
 * Creates the bucket and the table Sluice needs on local backends (CDK does it on AWS).
 * The table: `pk` (hash) + `sk` (range), on-demand, TTL on `ttl`; with `stream`, a stream of
 * new and old images (what push subscriptions are triggered by, as on AWS).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { BucketAlreadyOwnedByYou, CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { TABLE_KEY, TTL_ATTRIBUTE } from '../storage/layout';

/** Creates the bucket if it does not exist. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if (e instanceof BucketAlreadyOwnedByYou || (e as Error).name === 'BucketAlreadyExists') return;
    throw e;
  }
}

const STREAM = { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } as const;

/** Creates the table (and its TTL setting) if it does not exist, and waits until ACTIVE. */
export async function ensureTable(
  db: DynamoDBClient,
  table: string,
  options: { stream?: boolean } = {},
): Promise<void> {
  try {
    await db.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TABLE_KEY.partitionKey, AttributeType: 'S' },
          { AttributeName: TABLE_KEY.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: TABLE_KEY.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEY.sortKey, KeyType: 'RANGE' },
        ],
        ...(options.stream ? { StreamSpecification: STREAM } : {}),
      }),
    );
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  await waitActive(db, table);
  if (options.stream) {
    const d = await db.send(new DescribeTableCommand({ TableName: table }));
    const spec = d.Table?.StreamSpecification;
    if (!spec?.StreamEnabled || spec.StreamViewType !== STREAM.StreamViewType) {
      // a table of an earlier start: its stream is added (or replaced by one with both images)
      if (spec?.StreamEnabled) {
        await db.send(new UpdateTableCommand({ TableName: table, StreamSpecification: { StreamEnabled: false } }));
        await waitActive(db, table);
      }
      await db.send(new UpdateTableCommand({ TableName: table, StreamSpecification: STREAM }));
      await waitActive(db, table);
    }
  }
  await db
    .send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    )
    .catch((e: Error) => {
      // already enabled is fine
      if (!/already enabled|TimeToLive is already/i.test(e.message)) throw e;
    });
}

async function waitActive(db: DynamoDBClient, table: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const d = await db.send(new DescribeTableCommand({ TableName: table }));
    if (d.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
