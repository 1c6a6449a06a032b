/**
 * Creates the bucket and the table Sluice needs on local backends (CDK does it on AWS).
 * The table: `pk` (hash) + `sk` (range), on-demand, TTL on `ttl`.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
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

/** Creates the table (and its TTL setting) if it does not exist, and waits until ACTIVE. */
export async function ensureTable(db: DynamoDBClient, table: string): Promise<void> {
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
      }),
    );
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  for (let i = 0; i < 100; i++) {
    const d = await db.send(new DescribeTableCommand({ TableName: table }));
    if (d.Table?.TableStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 100));
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
