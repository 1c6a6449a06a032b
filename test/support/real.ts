/**
 * Fresh, isolated real stores for one test: a new bucket and a new table on the local
 * backends started by the global setup.
 */
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { localDynamoClient, localS3Client } from '../../lib/local/clients';
import { ensureBucket, ensureTable } from '../../lib/local/provision';
import { storesFromClients } from '../../lib/storage/aws';
import type { DynamoAccessStore } from '../../lib/storage/dynamo-access-store';
import type { DynamoGroupStore } from '../../lib/storage/dynamo-group-store';
import type { DynamoLogMetadataStore } from '../../lib/storage/dynamo-log-metadata-store';
import type { S3ObjectStore } from '../../lib/storage/s3-object-store';

/** Real adapters over a fresh bucket and table. */
export interface RealStores {
  readonly s3: S3Client;
  readonly dynamo: DynamoDBClient;
  readonly bucket: string;
  readonly table: string;
  readonly objects: S3ObjectStore;
  readonly metadata: DynamoLogMetadataStore;
  readonly groups: DynamoGroupStore;
  readonly access: DynamoAccessStore;
}

/** Creates a fresh bucket and table; clients may be customised (fault injection). */
export async function realStores(
  customise: { s3?: (c: S3Client) => void; dynamo?: (c: DynamoDBClient) => void; stream?: boolean } = {},
): Promise<RealStores> {
  const { s3Endpoint, dynamoEndpoint } = inject('backends');
  const suffix = randomBytes(5).toString('hex');
  const bucket = `sluice-test-${suffix}`;
  const table = `sluice-test-${suffix}`;
  const s3 = localS3Client(s3Endpoint);
  const dynamo = localDynamoClient(dynamoEndpoint);
  await Promise.all([ensureBucket(s3, bucket), ensureTable(dynamo, table, { stream: customise.stream ?? false })]);
  customise.s3?.(s3);
  customise.dynamo?.(dynamo);
  return {
    s3,
    dynamo,
    bucket,
    table,
    ...storesFromClients(s3, dynamo, bucket, table),
  };
}
