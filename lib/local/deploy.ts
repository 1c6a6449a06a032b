/**
 * Deploys the CDK stack into a LocalStack without the CDK CLI or a bootstrap stack:
 * synthesizes in-process (assets to a bucket of ours, no bootstrap-version rule), zips and
 * uploads the assets, then `CreateStack` with the AWS SDK and waits for CREATE_COMPLETE —
 * on failure with the failed resources' reasons.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  waitUntilStackCreateComplete,
  waitUntilStackDeleteComplete,
} from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { App, DefaultStackSynthesizer, RemovalPolicy } from 'aws-cdk-lib';
import { zipSync } from 'fflate';
import { acknowledgeNagFindings, addNagChecks } from '../../cdk/nag';
import { SluiceStack } from '../../cdk/stack';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localS3Client } from './clients';
import type { Progress } from './venv';

const ASSET_BUCKET = 'sluice-local-cdk-assets';
const ACCOUNT = '000000000000';

/** What a deployed stack offers. */
export interface DeployedStack {
  readonly stackName: string;
  readonly region: string;
  /** The Function URL as LocalStack names it (`http://<id>.lambda-url.<region>.<host>:<port>/`). */
  readonly apiUrl: string;
  readonly bucket: string;
  readonly table: string;
  readonly apiFunction: string;
  readonly maintenanceFunction: string;
}

interface FileAsset {
  source: { path: string; packaging?: 'zip' | 'file' };
  destinations: Record<string, { bucketName: string; objectKey: string }>;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function zipDirectory(dir: string): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const file of filesUnder(dir)) entries[relative(dir, file)] = readFileSync(file);
  return zipSync(entries);
}

/** Synthesizes the stack for LocalStack; returns its template and the assets to upload. */
export function synthesizeForLocalStack(
  stackName: string,
  region = LOCAL_REGION,
  customise: (stack: SluiceStack) => void = () => {},
) {
  const outdir = mkdtempSync(join(tmpdir(), 'sluice-cdk-'));
  const app = new App({ outdir });
  const stack = new SluiceStack(app, stackName, {
    env: { account: ACCOUNT, region },
    synthesizer: new DefaultStackSynthesizer({
      fileAssetsBucketName: ASSET_BUCKET,
      bucketPrefix: '',
      generateBootstrapVersionRule: false,
    }),
    // a local stack is thrown away with its LocalStack
    dataRemovalPolicy: RemovalPolicy.DESTROY,
    // LocalStack's Function URLs authenticate nobody (no IAM principal in the request
    // context): no ACL could name a caller, so the local deployment is open
    access: { mode: 'open' },
  });
  customise(stack);
  acknowledgeNagFindings(stack);
  addNagChecks(app);
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stackName);
  const manifest = JSON.parse(readFileSync(join(outdir, `${artifact.id}.assets.json`), 'utf8')) as {
    files: Record<string, FileAsset>;
  };
  const templateFile = artifact.templateFile;
  const assets = Object.values(manifest.files)
    .filter((a) => a.source.path !== templateFile)
    .flatMap((a) =>
      Object.values(a.destinations).map((d) => ({
        path: join(outdir, a.source.path),
        zip: a.source.packaging === 'zip',
        bucket: d.bucketName,
        key: d.objectKey,
      })),
    );
  return {
    template: readFileSync(join(outdir, templateFile), 'utf8'),
    assets,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

function cloudFormation(endpoint: string): CloudFormationClient {
  return new CloudFormationClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

async function failureReasons(cfn: CloudFormationClient, stackName: string): Promise<string> {
  const events = await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }));
  return (events.StackEvents ?? [])
    .filter((e) => e.ResourceStatus?.endsWith('FAILED'))
    .map((e) => `${e.LogicalResourceId} ${e.ResourceType}: ${e.ResourceStatus} ${e.ResourceStatusReason ?? ''}`)
    .join('\n');
}

/** Deploys (creates) the stack into the LocalStack at `endpoint` and returns its outputs. */
export async function deployToLocalStack(o: {
  endpoint: string;
  stackName?: string;
  progress?: Progress;
  timeoutMs?: number;
  /** Adds to the stack before it is synthesized (the tests add subscriber functions). */
  customise?: (stack: SluiceStack) => void;
}): Promise<DeployedStack> {
  const stackName = o.stackName ?? 'Sluice-local';
  const progress = o.progress ?? (() => {});
  progress(`synthesizing ${stackName} (bundles the functions with esbuild)`);
  const synth = synthesizeForLocalStack(stackName, LOCAL_REGION, o.customise);
  const s3 = localS3Client(o.endpoint);
  const cfn = cloudFormation(o.endpoint);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: ASSET_BUCKET })).catch((e: Error) => {
      if (e.name !== 'BucketAlreadyOwnedByYou') throw e;
    });
    progress(`uploading ${synth.assets.length} assets`);
    for (const a of synth.assets) {
      const body = a.zip ? zipDirectory(a.path) : readFileSync(a.path);
      await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: a.key, Body: body }));
    }
    progress(`creating stack ${stackName}`);
    await cfn.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: synth.template,
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
        OnFailure: 'DO_NOTHING',
      }),
    );
    const waited = await waitUntilStackCreateComplete(
      { client: cfn, maxWaitTime: (o.timeoutMs ?? 180_000) / 1000, minDelay: 1, maxDelay: 2 },
      { StackName: stackName },
    ).catch((e: Error) => ({ state: 'FAILURE', reason: e.message }));
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = Stacks?.[0];
    if (waited.state !== 'SUCCESS' || stack?.StackStatus !== 'CREATE_COMPLETE') {
      throw new Error(
        `stack ${stackName} ended ${stack?.StackStatus ?? waited.state}` +
          `${stack?.StackStatusReason ? ` (${stack.StackStatusReason})` : ''}:\n${await failureReasons(cfn, stackName)}`,
      );
    }
    const out = Object.fromEntries((stack.Outputs ?? []).map((x) => [x.OutputKey, x.OutputValue ?? '']));
    progress(`stack ${stackName} created`);
    return {
      stackName,
      region: LOCAL_REGION,
      apiUrl: out.ApiUrl ?? '',
      bucket: out.Bucket ?? '',
      table: out.Table ?? '',
      apiFunction: out.ApiFunction ?? '',
      maintenanceFunction: out.MaintenanceFunction ?? '',
    };
  } finally {
    synth.cleanup();
    s3.destroy();
    cfn.destroy();
  }
}

/** Deletes the stack and waits until it is gone. */
export async function deleteLocalStack(endpoint: string, stackName: string, timeoutMs = 120_000): Promise<void> {
  const cfn = cloudFormation(endpoint);
  try {
    await cfn.send(new DeleteStackCommand({ StackName: stackName }));
    await waitUntilStackDeleteComplete(
      { client: cfn, maxWaitTime: timeoutMs / 1000, minDelay: 1, maxDelay: 2 },
      { StackName: stackName },
    );
  } finally {
    cfn.destroy();
  }
}
