/**
 * AWS wiring for callers above the storage layer (clients, CLI): builds the SDK clients and
 * the adapters from plain options, so nothing outside `lib/storage` imports `@aws-sdk/*`.
 * The SDK's own variables (AWS_REGION, AWS_ENDPOINT_URL_S3, ...) and credential chain
 * apply unless overridden here.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { DynamoAccessStore } from './dynamo-access-store';
import { DynamoGroupStore } from './dynamo-group-store';
import { DynamoLogMetadataStore } from './dynamo-log-metadata-store';
import { ENVIRONMENT } from './layout';
import type { AccessStore, GroupStore, LogMetadataStore, ObjectHistory, ObjectStore } from './ports';
import { S3ObjectStore } from './s3-object-store';

/** Where Sluice's data lives. */
export interface AwsStoresOptions {
  readonly bucket: string;
  readonly table: string;
  /** @default the SDK's region resolution (AWS_REGION, profile) */
  readonly region?: string;
  /** Override endpoints (LocalStack, DynamoDB Local). @default the SDK's resolution */
  readonly s3Endpoint?: string;
  readonly dynamoEndpoint?: string;
  /** Static credentials. @default the SDK's default credential chain */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * Options from an environment the caller read (in Lambda: the process environment, read once at the
 * edge): SLUICE_BUCKET, SLUICE_TABLE, and the SDK's own endpoint variables
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB) for emulators.
 */
export function awsStoresOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): AwsStoresOptions {
  const required = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`environment variable ${name} is required`);
    return v;
  };
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  const dynamoEndpoint = env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL;
  return {
    bucket: required(ENVIRONMENT.bucket),
    table: required(ENVIRONMENT.table),
    ...(s3Endpoint ? { s3Endpoint } : {}),
    ...(dynamoEndpoint ? { dynamoEndpoint } : {}),
  };
}

/** S3 and DynamoDB adapters built from options. */
export function createAwsStores(o: AwsStoresOptions): {
  objects: ObjectStore;
  metadata: LogMetadataStore;
  groups: GroupStore;
  access: AccessStore;
} {
  const common = {
    ...(o.region ? { region: o.region } : {}),
    ...(o.credentials ? { credentials: o.credentials } : {}),
  };
  const s3 = new S3Client({ ...common, ...(o.s3Endpoint ? { endpoint: o.s3Endpoint, forcePathStyle: true } : {}) });
  const dynamo = new DynamoDBClient({ ...common, ...(o.dynamoEndpoint ? { endpoint: o.dynamoEndpoint } : {}) });
  return storesFromClients(s3, dynamo, o.bucket, o.table);
}

/** The deleted-object history of a versioned bucket (the restore tool). */
export function objectHistoryOf(o: { bucket: string; region?: string; s3Endpoint?: string }): ObjectHistory {
  const s3 = new S3Client({
    ...(o.region ? { region: o.region } : {}),
    ...(o.s3Endpoint ? { endpoint: o.s3Endpoint, forcePathStyle: true } : {}),
  });
  return new S3ObjectStore(s3, o.bucket);
}

/** The adapters over SDK clients someone else built (local emulators, tests, the benchmark). */
export function storesFromClients(
  s3: S3Client,
  dynamo: DynamoDBClient,
  bucket: string,
  table: string,
): { objects: S3ObjectStore; metadata: DynamoLogMetadataStore; groups: DynamoGroupStore; access: DynamoAccessStore } {
  const doc = documentClient(dynamo);
  return {
    objects: new S3ObjectStore(s3, bucket),
    metadata: new DynamoLogMetadataStore(doc, table),
    groups: new DynamoGroupStore(doc, table),
    access: new DynamoAccessStore(doc, table),
  };
}

/** The document client the DynamoDB adapters use: one marshalling policy for every entry point. */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}

/** Signs HTTP requests with SigV4 (the SDK's signer and credential chain). */
export interface RequestSigner {
  sign(req: {
    method: string;
    url: URL;
    headers: Record<string, string>;
    body?: string;
  }): Promise<Record<string, string>>;
}

/**
 * A SigV4 signer for the deployed API (`service` is `lambda` for a Function URL,
 * `execute-api` for API Gateway).
 */
export function createSigV4Signer(o: {
  region: string;
  service?: string;
  credentials?: AwsStoresOptions['credentials'];
}): RequestSigner {
  const signer = new SignatureV4({
    service: o.service ?? 'lambda',
    region: o.region,
    credentials: o.credentials ?? defaultProvider(),
    sha256: Hash.bind(null, 'sha256'),
  });
  return {
    async sign(req) {
      const query: Record<string, string> = {};
      req.url.searchParams.forEach((v, k) => {
        query[k] = v;
      });
      const signed = await signer.sign({
        method: req.method,
        protocol: req.url.protocol,
        hostname: req.url.hostname,
        ...(req.url.port ? { port: Number(req.url.port) } : {}),
        path: req.url.pathname,
        query,
        headers: { ...req.headers, host: req.url.host },
        ...(req.body !== undefined ? { body: req.body } : {}),
      });
      return signed.headers as Record<string, string>;
    },
  };
}
