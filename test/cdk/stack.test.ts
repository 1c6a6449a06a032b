/**
 * The deployment, asserted on the synthesized template, with cdk-nag (AwsSolutions)
 * validating the same synth: zero unacknowledged findings.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../../cdk/event-log';
import { acknowledgeNagFindings, addNagChecks } from '../../cdk/nag';
import { SluiceStack } from '../../cdk/stack';

let template: Template;
let assemblyDir: string;

beforeAll(() => {
  const app = new App();
  const stack = new SluiceStack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  acknowledgeNagFindings(stack);
  addNagChecks(app);
  assemblyDir = app.synth().directory; // throws on any unacknowledged cdk-nag finding
  template = Template.fromStack(stack);
}, 120_000);

type Statement = { Action: string | string[]; Effect: string; Resource: unknown; Condition?: unknown };

describe('Sluice stack', () => {
  it('bucket: public access blocked, TLS only, encrypted, multipart cleanup, no expiration, retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })]),
        },
      },
    });
    // versioned: what GC deletes stays restorable for 7 days, then expires with its marker
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 7 }, ExpiredObjectDeleteMarker: true }),
        ]),
      },
    });
    const rules = Object.values(template.findResources('AWS::S3::Bucket'))[0]?.Properties.LifecycleConfiguration.Rules;
    expect(rules.some((r: { ExpirationInDays?: number }) => r.ExpirationInDays !== undefined)).toBe(false);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('table: on demand, PITR, TTL, deletion protection, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      },
    });
  });

  it('functions: arm64, Node.js 24, explicit memory and timeout, log retention', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    // API, maintenance, the subscription dispatcher and the subscription resource handler
    expect(fns).toHaveLength(4);
    for (const f of fns) {
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(f.Properties.Runtime).toBe('nodejs24.x');
      expect(f.Properties.MemorySize).toBeGreaterThan(0);
      expect(f.Properties.Timeout).toBeGreaterThan(0);
      expect(f.Properties.Environment.Variables.SLUICE_BUCKET).toEqual({
        Ref: expect.stringMatching(/^EventLogSegments/),
      });
      expect(f.Properties.Environment.Variables.SLUICE_TABLE).toEqual({
        Ref: expect.stringMatching(/^EventLogMetadata/),
      });
    }
    for (const lg of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(lg.Properties.RetentionInDays).toBe(30);
    }
  });

  it('the API is never deployed without IAM auth', () => {
    const urls = Object.values(template.findResources('AWS::Lambda::Url'));
    expect(urls.length).toBeGreaterThan(0);
    for (const u of urls) expect(u.Properties.AuthType).toBe('AWS_IAM');
    for (const p of Object.values(template.findResources('AWS::Lambda::Permission'))) {
      expect(p.Properties.FunctionUrlAuthType ?? 'AWS_IAM').toBe('AWS_IAM');
      expect(p.Properties.Principal).not.toBe('*');
    }
  });

  it('function policies grant no wildcard actions; S3 only under segments/, DynamoDB only the table', () => {
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement as Statement[]) {
        const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
        for (const a of actions) expect(a.includes('*'), `action ${a}`).toBe(false);
        const resources = JSON.stringify(st.Resource);
        if (actions.some((a) => a.startsWith('s3:') && a !== 's3:ListBucket'))
          expect(resources).toContain('/segments/*');
        // ListStreams (the stream mapping's) takes no resource; everything else names the table or its stream
        if (actions.some((a) => a.startsWith('dynamodb:') && a !== 'dynamodb:ListStreams'))
          expect(resources).toMatch(/EventLogMetadata/);
        if (actions.includes('dynamodb:ListStreams')) expect(actions).toEqual(['dynamodb:ListStreams']);
      }
    }
  });

  it('push subscriptions: a stream of both images, a filtered mapping, invoke only of the dispatcher', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'LATEST',
      FilterCriteria: {
        Filters: [
          { Pattern: JSON.stringify({ eventName: ['MODIFY'], dynamodb: { Keys: { pk: { S: [{ prefix: 'H#' }] } } } }) },
        ],
      },
    });
    const invokes: string[] = [];
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement as Statement[]) {
        const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
        if (actions.includes('lambda:InvokeFunction')) invokes.push(JSON.stringify(st.Resource));
      }
    }
    // the API, the job, the resource handler and the dispatcher itself may send it events; nothing else is invoked
    expect(invokes).toHaveLength(4);
    for (const r of invokes) expect(r).toContain(':function:Test-dispatcher');
  });

  it('the API role may write, read and list segments (a GC-deleted one is 404, not 403) but not delete them; the job may', () => {
    const actionsOf = (rolePrefix: string) => {
      const out = new Set<string>();
      for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
        const roles = JSON.stringify(policy.Properties.Roles);
        if (!roles.includes(rolePrefix)) continue;
        for (const st of policy.Properties.PolicyDocument.Statement as Statement[]) {
          for (const a of Array.isArray(st.Action) ? st.Action : [st.Action]) out.add(a);
        }
      }
      return out;
    };
    const api = actionsOf('ApiRole');
    expect([...api].filter((a) => a.startsWith('s3:')).sort()).toEqual([
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    // no prefix condition on ListBucket: a GET carries no s3:prefix, and S3 answers 403 for a
    // missing key to a caller without an unconditioned ListBucket
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement as Statement[]) {
        if ([st.Action].flat().includes('s3:ListBucket')) expect(st.Condition).toBeUndefined();
      }
    }
    expect(api.has('dynamodb:Scan')).toBe(false);
    const job = actionsOf('MaintenanceRole');
    for (const a of ['s3:ListBucket', 's3:DeleteObject']) expect(job.has(a), a).toBe(true);
  });

  it('bundles keep class names, so errors report their names (not minified ones)', () => {
    const bundles = readdirSync(assemblyDir)
      .filter((d) => d.startsWith('asset.'))
      .flatMap((d) => ['index.mjs', 'index.js'].map((f) => join(assemblyDir, d, f)))
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f, 'utf8'))
      .filter((code) => code.includes('sluice-api') || code.includes('sluice-maintenance'));
    expect(bundles).toHaveLength(2);
    for (const code of bundles) {
      // esbuild's keepNames pins each class's name as a string next to the class
      for (const name of ['SluiceError', 'RetriableError', 'TopicNotFoundError']) {
        expect(code, name).toMatch(new RegExp(`["']${name}["']`));
      }
    }
  });

  it('has the maintenance schedule, a dashboard and alarms', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThanOrEqual(6);
    // consumer lag: the largest group's lag (published by the maintenance job) above the threshold prop
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MaxConsumerLag',
      Namespace: 'Sluice',
      Dimensions: [{ Name: 'service', Value: 'sluice-maintenance' }],
      Statistic: 'Maximum',
      Threshold: 100_000,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const custom = new SluiceStack(new App(), 'Lag', { consumerLagAlarmThreshold: 500 });
    // one group's lag, for users' own alarms: the dimensions the maintenance job publishes
    const perGroup = custom.eventLog.metricConsumerLag('billing');
    expect([perGroup.metricName, perGroup.dimensions]).toEqual([
      'ConsumerLag',
      { service: 'sluice-maintenance', Group: 'billing' },
    ]);
    Template.fromStack(custom).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MaxConsumerLag',
      Threshold: 500,
    });
    // every unexpected error is counted, and one is enough to alarm
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'UnexpectedErrors',
      Namespace: 'Sluice',
      Dimensions: [{ Name: 'service', Value: 'sluice-api' }],
      Threshold: 1,
      EvaluationPeriods: 1,
    });
    template.hasOutput('ApiUrl', {});
    template.hasOutput('Bucket', {});
    template.hasOutput('Table', {});
  });

  it('npx cdk synth works without Docker or AWS credentials', async () => {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' };
    const admin = 'arn:aws:iam::123456789012:role/platform-admin';
    const { stdout } = await promisify(execFile)(
      'npx',
      ['cdk', 'synth', '--quiet', '--output', 'cdk.out/test-synth', '-c', `admins=${admin}`],
      { env, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).not.toMatch(/ERROR/);
    // the context's admins reach the API function (access mode acl by default)
    const synthesized = Template.fromJSON(
      JSON.parse(readFileSync('cdk.out/test-synth/Sluice-dev.template.json', 'utf8')),
    );
    synthesized.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Sluice HTTP API v1',
      Environment: { Variables: Match.objectLike({ SLUICE_ACCESS: 'acl', SLUICE_ADMINS: admin }) },
    });
  }, 180_000);
});

describe('table capacity', () => {
  it('provisioned: autoscaled reads and writes between min and max at the target, cdk-nag clean', () => {
    const app = new App();
    const stack = new SluiceStack(app, 'Provisioned', {
      env: { account: '123456789012', region: 'eu-west-1' },
      tableCapacity: {
        mode: 'provisioned',
        readUnits: { min: 5, max: 400 },
        writeUnits: { min: 10, max: 800 },
        targetUtilizationPercent: 60,
      },
    });
    acknowledgeNagFindings(stack);
    addNagChecks(app);
    app.synth();
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 10 },
    });
    const targets = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalableTarget')).map(
      (r) => r.Properties,
    );
    expect(targets).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          MinCapacity: 5,
          MaxCapacity: 400,
          ScalableDimension: 'dynamodb:table:ReadCapacityUnits',
        }),
        expect.objectContaining({
          MinCapacity: 10,
          MaxCapacity: 800,
          ScalableDimension: 'dynamodb:table:WriteCapacityUnits',
        }),
      ]),
    );
    const policies = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'));
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(p.Properties.TargetTrackingScalingPolicyConfiguration.TargetValue).toBe(60);
    }
  });

  it('on demand by default; bad capacity is refused before anything is synthesised', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { BillingMode: 'PAY_PER_REQUEST' });
    expect(template.findResources('AWS::ApplicationAutoScaling::ScalableTarget')).toEqual({});
    const bad = (capacity: object) => () => new SluiceStack(new App(), 'Bad', { tableCapacity: capacity as never });
    expect(bad({ mode: 'provisioned', readUnits: { min: 5, max: 4 }, writeUnits: { min: 1, max: 2 } })).toThrow(
      /readUnits/,
    );
    expect(bad({ mode: 'provisioned', readUnits: { min: 0, max: 4 }, writeUnits: { min: 1, max: 2 } })).toThrow(
      /1 <= min <= max/,
    );
    expect(
      bad({
        mode: 'provisioned',
        readUnits: { min: 1, max: 4 },
        writeUnits: { min: 1, max: 2 },
        targetUtilizationPercent: 99,
      }),
    ).toThrow(/targetUtilizationPercent/);
  });
});

describe('EventLog.addSubscription', () => {
  const build = (props: Parameters<SluiceStack['eventLog']['addSubscription']>[1]) => {
    const app = new App();
    const stack = new SluiceStack(app, 'Subs', { env: { account: '123456789012', region: 'eu-west-1' } });
    const fn = new lambda.Function(stack, 'Subscriber', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] })'),
    });
    const sub = stack.eventLog.addSubscription(fn, props);
    return { stack, sub, template: Template.fromStack(stack) };
  };

  it('declares the subscription, grants the dispatcher exactly invoke on the subscriber, alarms on its age', () => {
    const { template: t, sub } = build({
      name: 'billing',
      topic: 'orders',
      batchSize: 50,
      bisectBatchOnFunctionError: true,
    });
    expect(sub.name).toBe('billing');
    const resources = Object.values(t.findResources('Custom::SluiceSubscription'));
    expect(resources).toHaveLength(1);
    const definition = JSON.stringify(resources[0]?.Properties.Definition);
    for (const part of ['billing', 'orders', 'lambda', 'batchSize', '50', 'bisectBatchOnFunctionError']) {
      expect(definition).toContain(part);
    }
    const grants = [];
    for (const policy of Object.values(t.findResources('AWS::IAM::Policy'))) {
      if (!JSON.stringify(policy.Properties.Roles).includes('DispatcherRole')) continue;
      for (const st of policy.Properties.PolicyDocument.Statement as Statement[]) {
        const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
        if (actions.includes('lambda:InvokeFunction') && JSON.stringify(st.Resource).includes('Subscriber')) {
          grants.push(actions);
          // the function itself, not its versions and aliases (no wildcard for cdk-nag to flag)
          expect(JSON.stringify(st.Resource)).not.toContain(':*');
        }
      }
    }
    expect(grants).toEqual([['lambda:InvokeFunction']]);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ConsumerLagMs',
      Dimensions: Match.arrayWith([{ Name: 'Group', Value: 'billing' }]),
      Threshold: 900_000,
    });
  });

  it('declares topics: retained by default, subscriptions to them created after them', () => {
    const app = new App();
    const stack = new SluiceStack(app, 'Topics', { env: { account: '123456789012', region: 'eu-west-1' } });
    const fn = lambda.Function.fromFunctionArn(stack, 'Fn', 'arn:aws:lambda:eu-west-1:123456789012:function:f');
    const orders = stack.eventLog.addTopic('orders', { partitions: 12, retention: Duration.days(7) });
    stack.eventLog.addTopic('orders-dlq', { partitions: 1, removalPolicy: RemovalPolicy.DESTROY });
    stack.eventLog.addSubscription(fn, { name: 'billing', topic: 'orders', deadLetterTopic: 'orders-dlq' });
    const t = Template.fromStack(stack);
    const topics = t.findResources('Custom::SluiceTopic');
    expect(Object.keys(topics)).toHaveLength(2);
    const specs = Object.values(topics).map((r) => JSON.stringify(r.Properties.Topic));
    expect(specs.some((x) => x.includes('orders') && x.includes('12') && x.includes(String(7 * 86_400_000)))).toBe(
      true,
    );
    expect(
      Object.values(topics)
        .map((r) => r.DeletionPolicy)
        .sort(),
    ).toEqual(['Delete', 'Retain']);
    const sub = Object.values(t.findResources('Custom::SluiceSubscription'))[0];
    expect(sub?.DependsOn).toEqual(expect.arrayContaining(Object.keys(topics)));
    expect(orders.name).toBe('orders');
    expect(() => stack.eventLog.addTopic('orders', { partitions: 1 })).toThrow(/declared twice/);
    expect(() => stack.eventLog.addTopic('bad name', { partitions: 1 })).toThrow(/topic name/);
    expect(() => stack.eventLog.addTopic('many', { partitions: 0 })).toThrow(/partitions/);
  });

  it('refuses a bad definition at synth, with the API’s rules', () => {
    expect(() => build({ topic: 'orders', batchSize: 0 })).toThrow(/batchSize/);
    expect(() => build({ batchSize: 10 })).toThrow(/topics/);
    expect(() => build({ topic: 'orders', startingPosition: 'AT_TIMESTAMP' })).toThrow(/startingPositionTimestamp/);
  });
});

describe('access control in the stack', () => {
  it('authorizes by ACLs by default, with the admins given; grantApi allows the URL only, and declares ACLs', () => {
    const app = new App();
    const admin = 'arn:aws:iam::123456789012:role/platform-admin';
    const stack = new SluiceStack(app, 'Access', {
      env: { account: '123456789012', region: 'eu-west-1' },
      access: { admins: [admin] },
    });
    const orders = new iam.Role(stack, 'OrdersService', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    stack.grantApi(
      orders,
      { topic: 'orders', operations: ['produce'] },
      { group: 'orders-', prefix: true, operations: ['read'] },
    );
    acknowledgeNagFindings(stack);
    addNagChecks(app);
    app.synth(); // cdk-nag stays clean
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Sluice HTTP API v1',
      Environment: { Variables: Match.objectLike({ SLUICE_ACCESS: 'acl', SLUICE_ADMINS: admin }) },
    });
    // the role may invoke the function only through its URL: no direct invoke with a forged context
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('OrdersService'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    expect(statements.map((s) => [s.Action, s.Condition])).toEqual([
      ['lambda:InvokeFunctionUrl', { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } }],
      ['lambda:InvokeFunction', { Bool: { 'lambda:InvokedViaFunctionUrl': true } }],
    ]);
    const acls = Object.values(t.findResources('Custom::SluiceAcl')).map((r) => JSON.stringify(r.Properties.Acl));
    expect(acls).toHaveLength(2);
    expect(acls[0]).toContain('OrdersService');
    expect(acls[0]).toContain(
      '\\"resourceType\\":\\"topic\\",\\"resourceName\\":\\"orders\\",\\"pattern\\":\\"literal\\"',
    );
    expect(acls[1]).toContain(
      '\\"resourceType\\":\\"group\\",\\"resourceName\\":\\"orders-\\",\\"pattern\\":\\"prefixed\\"',
    );
  });

  it('the recovery window is configurable in whole days', () => {
    const stack = new SluiceStack(new App(), 'Window');
    const log = new EventLog(stack, 'Other', { recoveryWindow: Duration.days(30) });
    const buckets = Object.values(Template.fromStack(stack).findResources('AWS::S3::Bucket'));
    const rules = buckets.flatMap((b) => b.Properties.LifecycleConfiguration.Rules);
    expect(rules.filter((r) => r.NoncurrentVersionExpiration).map((r) => r.NoncurrentVersionExpiration)).toEqual([
      { NoncurrentDays: 7 },
      { NoncurrentDays: 30 },
    ]);
    expect(log.bucket).toBeDefined();
    expect(() => new EventLog(stack, 'Short', { recoveryWindow: Duration.hours(12) })).toThrow(
      /whole days, at least 1/,
    );
  });

  it('refuses a wrong ACL or admin at synth; open mode is explicit', () => {
    const stack = new SluiceStack(new App(), 'Bad', { access: { mode: 'open' } });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => stack.grantApi(role, { group: 'g', operations: ['produce'] })).toThrow(
      /operation "produce" is not one of group's/,
    );
    expect(() => stack.eventLog.allow('orders-service', { topic: 't', operations: ['all'] })).toThrow(/principal/);
    expect(() => new SluiceStack(new App(), 'BadAdmin', { access: { admins: ['admin'] } })).toThrow(/access.admins/);
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Sluice HTTP API v1',
      Environment: { Variables: Match.objectLike({ SLUICE_ACCESS: 'open' }) },
    });
  });
});
