/**
 * `EventLog`: the reusable construct that owns Sluice's state — one S3 bucket (segments)
 * and one DynamoDB table (everything else) — and grants access to it.
 * Use it in your own CDK app and run Sluice's Lambda handlers (or your own direct-mode
 * clients) against it.
 *
 * The direct-mode grants (`grantProduce`, `grantConsume`, `grantAdmin`) trust the holder with
 * the whole log: IAM cannot scope them to a topic (segment objects hold many topics' chunks and
 * their keys name none; a produce grant can write the items that delete a topic). Per-topic,
 * per-group access is the HTTP API's, by ACLs (`allow`, `SluiceStack.grantApi`).
 */
import { CustomResource, Duration, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type AclSpec, aclProblems, CLUSTER } from '../lib/access/model';
import { MAX_PARTITIONS, topicNameProblem } from '../lib/settings';
import { ENVIRONMENT, SEGMENT_PREFIX, TABLE_KEY, TTL_ATTRIBUTE } from '../lib/storage/layout';
import { parseSubscription, type SubscriptionInput } from '../lib/subscriptions/definition';

/** Properties of an `EventLog`. */
export interface EventLogProps {
  /** What happens to the data when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** KMS key for the bucket and the table. @default S3-managed keys and an AWS-owned table key */
  readonly encryptionKey?: kms.IKey;
  /** Bucket for S3 server access logs. @default no access logging */
  readonly accessLogsBucket?: s3.IBucket;
  /** Protect the table from deletion. @default true */
  readonly deletionProtection?: boolean;
  /**
   * The table's capacity. On demand (the default) bills per request and nothing while idle.
   * Provisioned, with target-tracking autoscaling between `min` and `max` units per second,
   * is cheaper for a steady load: a write unit provisioned for a month costs $0.47, one used
   * every second on demand $1.64 (us-east-1), so at the default 70 % target a steady load
   * pays about 40 % of on demand; a load with bursts above what autoscaling follows within
   * minutes is throttled (Sluice retries throttles, the API answers 429/503).
   * @default { mode: 'onDemand' }
   */
  readonly capacity?: TableCapacity;
  /**
   * How long a deleted segment stays restorable: the bucket is versioned, and a version
   * garbage collection deleted (or a delete marker) expires after this. Within it, a mistaken
   * topic delete or retention change can be undone (README: Recovering deleted data); the
   * price is the deleted bytes' storage for this long. Whole days, at least 1. @default 7 days
   */
  readonly recoveryWindow?: Duration;
}

/**
 * A push subscription declared in CDK (`EventLog.addSubscription`): its topics and the
 * options of `POST /v1/subscriptions` (Lambda's event-source mapping names and defaults).
 */
export type SubscriptionProps = NonNullable<SubscriptionInput['options']> & {
  /** The subscription's (and its consumer group's) name. @default the function's unique id */
  readonly name?: string;
  /** The topic it reads (or `topics`). */
  readonly topic?: string;
  readonly topics?: readonly string[];
  /** Alarm when its oldest undelivered record is this old. @default 15 minutes */
  readonly iteratorAgeAlarm?: Duration;
};

/** A topic declared in CDK (`EventLog.addTopic`). */
export interface TopicProps {
  /** Partitions (they only grow: a later deployment may raise it, never lower it). */
  readonly partitions: number;
  /** Delete records older than this. @default kept forever */
  readonly retention?: Duration;
  /** Keep at most about this many bytes per partition. @default no limit */
  readonly retentionBytes?: number;
  /**
   * What a stack deletion (or the declaration's removal) does to the topic and its records.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An ACL entry declared in CDK (`EventLog.allow`): one resource — a topic, a group, a
 * subscription or the cluster (its ACLs) — by name (or by prefix, or `*`), and its operations.
 */
export type AclProps = (
  | { readonly topic: string }
  | { readonly group: string }
  | { readonly subscription: string }
  | { readonly cluster: true }
) & {
  /** The operations (see `OPERATIONS` in lib/access/model.ts), or `all`. */
  readonly operations: readonly string[];
  /** The name is a prefix: every resource whose name starts with it. @default false */
  readonly prefix?: boolean;
  /** @default 'allow' (a deny wins over any allow) */
  readonly effect?: 'allow' | 'deny';
};

/** The entry an `AclProps` declares for `principal`. */
export function aclSpecOf(principal: string, props: AclProps): AclSpec {
  const [resourceType, resourceName] =
    'topic' in props
      ? (['topic', props.topic] as const)
      : 'group' in props
        ? (['group', props.group] as const)
        : 'subscription' in props
          ? (['subscription', props.subscription] as const)
          : (['cluster', CLUSTER] as const);
  return {
    principal,
    effect: props.effect ?? 'allow',
    resourceType,
    resourceName,
    pattern: props.prefix ? 'prefixed' : 'literal',
    operations: [...new Set(props.operations)].sort() as AclSpec['operations'],
  };
}

/** What the stack gives the EventLog so it can add topics and subscriptions. */
export interface SubscriptionWiring {
  /** The dispatcher function: it is granted invoke on each subscriber. */
  readonly dispatcher: lambda.IFunction;
  /** The custom resource handler of declared topics and subscriptions (`functions/resources.ts`). */
  readonly resourceHandler: lambda.IFunction;
}

/** DynamoDB capacity of the metadata table. */
export type TableCapacity =
  | { readonly mode: 'onDemand' }
  | {
      readonly mode: 'provisioned';
      readonly readUnits: { readonly min: number; readonly max: number };
      readonly writeUnits: { readonly min: number; readonly max: number };
      /** Autoscaling's target utilisation. @default 70 */
      readonly targetUtilizationPercent?: number;
    };

function checkCapacity(c: TableCapacity): void {
  if (c.mode === 'onDemand') return;
  for (const [what, u] of [
    ['readUnits', c.readUnits],
    ['writeUnits', c.writeUnits],
  ] as const) {
    if (!Number.isInteger(u.min) || !Number.isInteger(u.max) || u.min < 1 || u.max < u.min) {
      throw new Error(`EventLog capacity.${what}: min and max must be integers with 1 <= min <= max`);
    }
  }
  const target = c.targetUtilizationPercent ?? 70;
  if (!Number.isFinite(target) || target < 20 || target > 90) {
    throw new Error('EventLog capacity.targetUtilizationPercent must be between 20 and 90');
  }
}

/** Reading and writing the table's items (no scans, no table-level actions). */
const ITEM_READ_WRITE = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:BatchWriteItem',
];

/** Sluice's bucket and table, with grants and metrics. */
export class EventLog extends Construct {
  /** The segment bucket. */
  readonly bucket: s3.Bucket;
  /** The metadata table (`pk`, `sk`, TTL on `ttl`; a stream of new and old images triggers push subscriptions). */
  readonly table: dynamodb.Table;
  private wiring: SubscriptionWiring | undefined;
  /** Topics declared with `addTopic`, by name: subscriptions to them wait for them. */
  private readonly topics = new Map<string, CustomResource>();
  /** ACL entries declared with `allow`. */
  private acls = 0;

  constructor(scope: Construct, id: string, props: EventLogProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const capacity = props.capacity ?? { mode: 'onDemand' };
    checkCapacity(capacity);
    const recoveryWindow = props.recoveryWindow ?? Duration.days(7);
    const days = recoveryWindow.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 1) {
      throw new Error(`EventLog recoveryWindow must be whole days, at least 1 (got ${recoveryWindow.toHumanString()})`);
    }
    this.bucket = new s3.Bucket(this, 'Segments', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey, bucketKeyEnabled: true } : {}),
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(props.accessLogsBucket
        ? { serverAccessLogsBucket: props.accessLogsBucket, serverAccessLogsPrefix: 'sluice/' }
        : {}),
      // versioned: what GC deletes stays restorable for the recovery window
      versioned: true,
      // no expiration rule for current objects: retention is Sluice's job (an object may hold
      // many partitions); deleted versions expire after the window, then their markers go
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { noncurrentVersionExpiration: recoveryWindow, expiredObjectDeleteMarker: true },
      ],
      removalPolicy,
      autoDeleteObjects: false,
    });
    this.table = new dynamodb.Table(this, 'Metadata', {
      partitionKey: { name: TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEY.sortKey, type: dynamodb.AttributeType.STRING },
      ...(capacity.mode === 'provisioned'
        ? {
            billingMode: dynamodb.BillingMode.PROVISIONED,
            readCapacity: capacity.readUnits.min,
            writeCapacity: capacity.writeUnits.min,
          }
        : { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // what the dispatcher's event-source mapping reads (free for Lambda triggers)
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      encryption: props.encryptionKey ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.DEFAULT,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
      removalPolicy,
    });
    if (capacity.mode === 'provisioned') {
      const targetUtilizationPercent = capacity.targetUtilizationPercent ?? 70;
      this.table
        .autoScaleReadCapacity({ minCapacity: capacity.readUnits.min, maxCapacity: capacity.readUnits.max })
        .scaleOnUtilization({ targetUtilizationPercent });
      this.table
        .autoScaleWriteCapacity({ minCapacity: capacity.writeUnits.min, maxCapacity: capacity.writeUnits.max })
        .scaleOnUtilization({ targetUtilizationPercent });
    }
  }

  /** Gives a function the environment Sluice's handlers read to find this bucket and table. */
  bindEnvironment(fn: lambda.Function): void {
    fn.addEnvironment(ENVIRONMENT.bucket, this.bucket.bucketName);
    fn.addEnvironment(ENVIRONMENT.table, this.table.tableName);
  }

  /** Produce: write segments; read and conditionally write offsets, index, dedupe items (any topic's). */
  grantProduce(grantee: iam.IGrantable): void {
    this.grantObjects(grantee, ['s3:PutObject']);
    this.grantItems(grantee, [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:ConditionCheckItem',
    ]);
  }

  /**
   * Consume: read segments and metadata; manage group members, leases and offsets (any topic's,
   * any group's). With `s3:ListBucket` on the bucket (it holds segments only; no prefix
   * condition, which a GET does not carry): a segment GC deleted is 404 — the retention race a
   * reader handles — not 403.
   */
  grantConsume(grantee: iam.IGrantable): void {
    this.grantObjects(grantee, ['s3:GetObject']);
    this.grantList(grantee);
    this.grantItems(grantee, ITEM_READ_WRITE);
  }

  /** Declared topics and subscriptions: the table's items only (no segment is read or written). */
  grantDeclarations(grantee: iam.IGrantable): void {
    this.grantItems(grantee, ITEM_READ_WRITE);
  }

  /** Admin and maintenance: everything above, plus listing and deleting segments. */
  grantAdmin(grantee: iam.IGrantable): void {
    this.grantProduce(grantee);
    this.grantConsume(grantee);
    this.grantObjects(grantee, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
  }

  private grantList(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
  }

  /**
   * Declares an ACL entry: `principal` (a role — every session of it — or a principal ARN or
   * pattern) may do `operations` on the resource, through the HTTP API. Written at deployment,
   * removed with the declaration. Checked here, at synth, by the API's rules.
   */
  allow(principal: iam.IRole | string, props: AclProps) {
    const wiring = this.requireWiring('allow');
    const arn = typeof principal === 'string' ? principal : principal.roleArn;
    // a token's ARN cannot be checked at synth: the rules run on an ARN of its shape
    const checked = aclSpecOf(Token.isUnresolved(arn) ? 'arn:aws:iam::123456789012:role/synth-check' : arn, props);
    const problems = aclProblems(checked);
    if (problems.length > 0) throw new Error(`EventLog.allow: ${problems.join('; ')}`);
    const spec = aclSpecOf(arn, props);
    this.acls += 1;
    return new CustomResource(this, `Acl${this.acls}`, {
      serviceToken: wiring.resourceHandler.functionArn,
      resourceType: 'Custom::SluiceAcl',
      properties: { Acl: Stack.of(this).toJsonString(spec) },
    });
  }

  /** Lets `addSubscription` work: the stack's dispatcher and subscription resource handler. */
  useSubscriptionWiring(wiring: SubscriptionWiring): void {
    this.wiring = wiring;
  }

  /**
   * Declares a topic: created at deployment (or adopted if it exists), grown to more partitions
   * and given new retention by later deployments; retained when the stack is deleted unless
   * `removalPolicy` is DESTROY. Subscriptions added to it are created after it.
   */
  addTopic(name: string, props: TopicProps) {
    const wiring = this.requireWiring('addTopic');
    const problem = topicNameProblem(name);
    if (problem) throw new Error(`EventLog.addTopic: ${problem}`);
    if (!Number.isInteger(props.partitions) || props.partitions < 1 || props.partitions > MAX_PARTITIONS) {
      throw new Error(`EventLog.addTopic(${name}): partitions must be an integer in [1, ${MAX_PARTITIONS}]`);
    }
    if (this.topics.has(name)) throw new Error(`EventLog.addTopic(${name}): declared twice`);
    const spec = {
      name,
      partitions: props.partitions,
      retentionMs: props.retention ? props.retention.toMilliseconds() : null,
      retentionBytes: props.retentionBytes ?? null,
    };
    const resource = new CustomResource(this, `Topic${name.replace(/[^A-Za-z0-9]/g, '')}${this.topics.size}`, {
      serviceToken: wiring.resourceHandler.functionArn,
      resourceType: 'Custom::SluiceTopic',
      properties: { Topic: Stack.of(this).toJsonString(spec) },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.topics.set(name, resource);
    return { name, resource };
  }

  private requireWiring(what: string): SubscriptionWiring {
    if (!this.wiring) {
      throw new Error(
        `EventLog.${what} needs the stack's functions: use it on a SluiceStack (or call useSubscriptionWiring)`,
      );
    }
    return this.wiring;
  }

  /**
   * Subscribes `fn` to a topic: the dispatcher invokes it synchronously with batches in the
   * Lambda Kafka event format, in order per partition (see `POST /v1/subscriptions`). Grants
   * the dispatcher exactly `lambda:InvokeFunction` on `fn`, and alarms on the subscription's
   * iterator age. The definition is checked here, at synth, by the same rules as the API.
   */
  addSubscription(fn: lambda.IFunction, props: SubscriptionProps) {
    const wiring = this.requireWiring('addSubscription');
    const { name: given, topic, topics, iteratorAgeAlarm, ...options } = props;
    const name = given ?? Names.uniqueId(fn).slice(-200);
    const list = topics ? [...topics] : topic ? [topic] : [];
    const input = { name, topics: list, target: { type: 'lambda' as const, functionArn: fn.functionArn }, options };
    // a token's ARN cannot be checked at synth: the rules run on an ARN of its shape
    const check = parseSubscription({
      ...input,
      target: { type: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:synth-check' },
    });
    if ('problems' in check) throw new Error(`EventLog.addSubscription(${name}): ${check.problems.join('; ')}`);
    this.allowDelivery(fn);
    const id = `Subscription${Names.uniqueId(fn)}`;
    const resource = new CustomResource(this, id, {
      serviceToken: wiring.resourceHandler.functionArn,
      resourceType: 'Custom::SluiceSubscription',
      // one JSON string: CloudFormation would turn numbers and booleans into strings
      properties: { Definition: Stack.of(this).toJsonString(input) },
    });
    // declared topics (and the dead-letter topic) exist before the subscription is created
    for (const t of [...list, options.deadLetterTopic]) {
      const declared = t ? this.topics.get(t) : undefined;
      if (declared) resource.node.addDependency(declared);
    }
    const alarm = new cloudwatch.Alarm(this, `${id}IteratorAge`, {
      metric: this.metricSubscriptionIteratorAge(name),
      threshold: (iteratorAgeAlarm ?? Duration.minutes(15)).toMilliseconds(),
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Sluice subscription ${name} is falling behind (its oldest undelivered record is old)`,
    });
    return { name, resource, alarm };
  }

  /**
   * Lets the dispatcher invoke `fn` (and nothing else: the function's ARN itself, not its
   * versions), for subscriptions created through the API with a Lambda target.
   */
  allowDelivery(fn: lambda.IFunction): void {
    iam.Grant.addToPrincipal({
      grantee: this.requireWiring('allowDelivery').dispatcher,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [fn.functionArn],
    });
  }

  /** Records a subscription has not delivered yet (measured by every maintenance run). */
  metricSubscriptionLag(name: string, props?: cloudwatch.MetricOptions) {
    return this.metricConsumerLag(name, props);
  }

  /** Age (ms) of a subscription's oldest undelivered record (maintenance runs measure it). */
  metricSubscriptionIteratorAge(name: string, props?: cloudwatch.MetricOptions) {
    return this.groupMetric('ConsumerLagMs', name, props);
  }

  /** A per-group series of the maintenance run's lag pass (its worst value per 5 minutes). */
  private groupMetric(metricName: string, group: string, props?: cloudwatch.MetricOptions) {
    return this.metric(metricName, 'sluice-maintenance', {
      dimensionsMap: { service: 'sluice-maintenance', Group: group },
      statistic: 'Maximum',
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** A subscription's failed deliveries, or its dead-lettered (or skipped) records. */
  metricSubscription(
    name: string,
    what: 'SubscriptionFailures' | 'SubscriptionDeadLettered' | 'SubscriptionRecordsDelivered',
    props?: cloudwatch.MetricOptions,
  ) {
    return this.metric(what, 'sluice-dispatcher', {
      dimensionsMap: { service: 'sluice-dispatcher', Subscription: name },
      ...props,
    });
  }

  /** A metric Sluice's handlers publish (namespace `Sluice`). */
  metric(
    metricName: string,
    service: 'sluice-api' | 'sluice-maintenance' | 'sluice-dispatcher',
    props: cloudwatch.MetricOptions = {},
  ) {
    return new cloudwatch.Metric({
      namespace: 'Sluice',
      metricName,
      dimensionsMap: { service },
      statistic: 'Sum',
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Records produced through the API. */
  metricProducedRecords(props?: cloudwatch.MetricOptions) {
    return this.metric('ProducedRecords', 'sluice-api', props);
  }

  /** Records consumed through the API. */
  metricConsumedRecords(props?: cloudwatch.MetricOptions) {
    return this.metric('ConsumedRecords', 'sluice-api', props);
  }

  /** Produce latency (p99 by default). */
  metricProduceLatency(props?: cloudwatch.MetricOptions) {
    return this.metric('ProduceLatency', 'sluice-api', { statistic: 'p99', ...props });
  }

  /** 5xx answers of the API. */
  metricErrors(props?: cloudwatch.MetricOptions) {
    return this.metric('Errors', 'sluice-api', props);
  }

  /** Errors the API did not expect (bugs, corrupt data): each is logged once with its stack and request id. */
  metricUnexpectedErrors(props?: cloudwatch.MetricOptions) {
    return this.metric('UnexpectedErrors', 'sluice-api', props);
  }

  /** Throttled answers of the API. */
  metricThrottles(props?: cloudwatch.MetricOptions) {
    return this.metric('Throttles', 'sluice-api', props);
  }

  /**
   * Records a consumer group has not consumed yet, summed over its partitions (the
   * maintenance job publishes it every run, with a `Group` dimension).
   */
  metricConsumerLag(group: string, props?: cloudwatch.MetricOptions) {
    return this.groupMetric('ConsumerLag', group, props);
  }

  /** The largest consumer lag (records) of any group: one series however many groups come and go. */
  metricMaxConsumerLag(props?: cloudwatch.MetricOptions) {
    return this.metric('MaxConsumerLag', 'sluice-maintenance', {
      statistic: 'Maximum',
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Age (ms) of the oldest record any group has not consumed yet. */
  metricMaxConsumerLagAge(props?: cloudwatch.MetricOptions) {
    return this.metric('MaxConsumerLagMs', 'sluice-maintenance', {
      statistic: 'Maximum',
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** DynamoDB requests throttled on the table. */
  metricTableThrottles(props?: cloudwatch.MetricOptions) {
    return new cloudwatch.MathExpression({
      expression: 'r + w',
      usingMetrics: {
        r: this.table.metric('ReadThrottleEvents', { statistic: 'Sum', period: Duration.minutes(1) }),
        w: this.table.metric('WriteThrottleEvents', { statistic: 'Sum', period: Duration.minutes(1) }),
      },
      label: 'DynamoDB throttled requests',
      period: props?.period ?? Duration.minutes(1),
    });
  }

  private grantObjects(grantee: iam.IGrantable, actions: string[]): void {
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.bucket.arnForObjects(`${SEGMENT_PREFIX}*`)] });
    if (this.bucket.encryptionKey) this.bucket.encryptionKey.grantEncryptDecrypt(grantee);
  }

  private grantItems(grantee: iam.IGrantable, actions: string[]): void {
    iam.Grant.addToPrincipal({ grantee, actions, resourceArns: [this.table.tableArn] });
    if (this.table.encryptionKey) this.table.encryptionKey.grantEncryptDecrypt(grantee);
  }
}
