/**
 * AWS SDK clients for local endpoints (emulators accept any credentials). Production
 * clients are built in `functions/` from the environment; these are for the embedded
 * backends, `npm start` and the tests.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

export const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/** Region used against local emulators. */
export const LOCAL_REGION = 'us-east-1';

/** A DynamoDB client for a local endpoint. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

export { documentClient } from '../storage/aws';

/** An S3 client for a local endpoint (path-style addressing, as emulators need). */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
}
