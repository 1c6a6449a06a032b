/**
 * The Sluice stack: an `EventLog`, the API function behind an IAM-authenticated Function
 * URL, the scheduled maintenance function, the push-subscription dispatcher (triggered by
 * the table's stream, filtered to head-shard changes), a dashboard and alarms. It wires; the
 * construct owns state and grants.
 */
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ACCESS_ENVIRONMENT } from '../lib/access/authorizer';
import { principalProblem } from '../lib/access/model';
import { type AclProps, EventLog, type TableCapacity } from './event-log';

/** Properties of the Sluice stack. */
export interface SluiceStackProps extends StackProps {
  /** What happens to the data when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /** Notify this topic when an alarm fires. @default no notifications */
  readonly alarmTopic?: sns.ITopic;
  /** How often the maintenance job runs. @default 5 minutes */
  readonly maintenanceInterval?: Duration;
  /** API requests served at once (throttling). @default 100 */
  readonly apiConcurrency?: number;
  /**
   * Alarm when some consumer group is this many records behind (measured by every
   * maintenance run) for two runs in a row. @default 100000
   */
  readonly consumerLagAlarmThreshold?: number;
  /** The table's DynamoDB capacity (see `EventLogProps.capacity`). @default on demand */
  readonly tableCapacity?: TableCapacity;
  /**
   * How long a subscriber may take to answer one batch (the dispatcher's delivery timeout;
   * its function timeout allows several). @default 60 seconds
   */
  readonly subscriptionDeliveryTimeout?: Duration;
  /**
   * How the HTTP API authorizes its IAM-authenticated callers. `acl` (the default): each caller
   * may do what ACL entries allow it (`grantApi`, `eventLog.allow`, `POST /v1/acls`) and
   * nothing else; `admins` (principal ARNs or `*`-suffixed prefixes) may do everything,
   * including managing ACLs. `open`: every caller allowed to invoke the URL may do everything
   * (a quick start, not a production setting).
   * @default { mode: 'acl', admins: [] }
   */
  readonly access?: { readonly mode?: 'acl' | 'open'; readonly admins?: readonly string[] };
}

const functionsDir = fileURLToPath(new URL('../functions/', import.meta.url));

/** One Sluice deployment. */
export class SluiceStack extends Stack {
  readonly eventLog: EventLog;
  readonly api: nodejs.NodejsFunction;
  readonly apiUrl: lambda.FunctionUrl;
  readonly maintenance: nodejs.NodejsFunction;
  /** Delivers push subscriptions (`eventLog.addSubscription`, `POST /v1/subscriptions`). */
  readonly dispatcher: nodejs.NodejsFunction;
  /** Writes the topics and subscriptions `eventLog.addTopic` / `addSubscription` declare (custom resources). */
  readonly resources: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: SluiceStackProps = {}) {
    super(scope, id, props);
    this.eventLog = new EventLog(this, 'EventLog', {
      ...(props.dataRemovalPolicy ? { removalPolicy: props.dataRemovalPolicy } : {}),
      ...(props.tableCapacity ? { capacity: props.tableCapacity } : {}),
    });
    const common = {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      environment: { NODE_OPTIONS: '--enable-source-maps' },
      // keepNames: error classes report `new.target.name`, which minification would mangle
      bundling: { minify: true, keepNames: true, sourceMap: true, externalModules: ['@aws-sdk/*'] },
    };
    this.api = new nodejs.NodejsFunction(this, 'Api', {
      ...common,
      ...this.roleAndLogs('Api'),
      entry: `${functionsDir}api.ts`,
      memorySize: 1024,
      timeout: Duration.seconds(30),
      reservedConcurrentExecutions: props.apiConcurrency ?? 100,
      description: 'Sluice HTTP API v1',
    });
    // exactly what API paths use: segments are written and read, never listed or deleted
    // by the API (deleteRecords and topic deletion release metadata; the job deletes objects)
    this.eventLog.bindEnvironment(this.api);
    this.eventLog.grantProduce(this.api);
    this.eventLog.grantConsume(this.api);
    this.apiUrl = this.api.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    const access = props.access ?? {};
    for (const a of access.admins ?? []) {
      const problem = principalProblem(a);
      if (problem) throw new Error(`SluiceStack access.admins: ${problem}`);
    }
    this.api.addEnvironment(ACCESS_ENVIRONMENT.mode, access.mode ?? 'acl');
    this.api.addEnvironment(ACCESS_ENVIRONMENT.admins, (access.admins ?? []).join(','));

    this.maintenance = new nodejs.NodejsFunction(this, 'Maintenance', {
      ...common,
      ...this.roleAndLogs('Maintenance'),
      entry: `${functionsDir}maintenance.ts`,
      memorySize: 512,
      timeout: Duration.minutes(5),
      reservedConcurrentExecutions: 1,
      description: 'Sluice retention and garbage collection',
    });
    this.eventLog.bindEnvironment(this.maintenance);
    this.eventLog.grantAdmin(this.maintenance);
    new events.Rule(this, 'MaintenanceSchedule', {
      schedule: events.Schedule.rate(props.maintenanceInterval ?? Duration.minutes(5)),
      targets: [new targets.LambdaFunction(this.maintenance)],
    });

    // push subscriptions: the dispatcher, woken by commits (a head shard's item changes)
    const deliveryTimeout = props.subscriptionDeliveryTimeout ?? Duration.seconds(60);
    const dispatcherName = `${this.stackName}-dispatcher`.slice(0, 64);
    this.dispatcher = new nodejs.NodejsFunction(this, 'Dispatcher', {
      ...common,
      ...this.roleAndLogs('Dispatcher'),
      functionName: dispatcherName,
      entry: `${functionsDir}dispatcher.ts`,
      memorySize: 512,
      // a run drives for up to a minute, plus the delivery in flight at its deadline
      timeout: Duration.seconds(Math.max(180, deliveryTimeout.toSeconds() + 120)),
      description: 'Sluice push-subscription dispatcher',
    });
    this.eventLog.bindEnvironment(this.dispatcher);
    this.dispatcher.addEnvironment('SLUICE_DISPATCHER_FUNCTION', dispatcherName);
    this.dispatcher.addEnvironment('SLUICE_DELIVERY_TIMEOUT_MS', String(deliveryTimeout.toMilliseconds()));
    // reads the log, holds leases, commits offsets, and dead-letters (a produce)
    this.eventLog.grantProduce(this.dispatcher);
    this.eventLog.grantConsume(this.dispatcher);
    this.dispatcher.addEventSource(
      new sources.DynamoEventSource(this.eventLog.table, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 100,
        // a failed run is tried again a few times; the maintenance sweep covers the rest
        retryAttempts: 2,
        parallelizationFactor: 4,
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.isEqual('MODIFY'),
            dynamodb: { Keys: { pk: { S: lambda.FilterRule.beginsWith('H#') } } },
          }),
        ],
      }),
    );
    // hand-overs and kicks: the dispatcher (itself), the API and the maintenance job send it events
    const dispatcherArn = this.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: dispatcherName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const resourceHandler = new nodejs.NodejsFunction(this, 'DeclaredResources', {
      ...common,
      ...this.roleAndLogs('DeclaredResources'),
      entry: `${functionsDir}resources.ts`,
      memorySize: 256,
      timeout: Duration.minutes(1),
      description: 'Sluice topics and subscriptions declared with EventLog.addTopic and addSubscription',
    });
    this.resources = resourceHandler;
    this.eventLog.bindEnvironment(resourceHandler);
    this.eventLog.grantDeclarations(resourceHandler);
    for (const fn of [this.dispatcher, this.api, this.maintenance, resourceHandler]) {
      fn.addEnvironment('SLUICE_DISPATCHER_FUNCTION', dispatcherName);
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [dispatcherArn] }));
    }
    this.eventLog.useSubscriptionWiring({ dispatcher: this.dispatcher, resourceHandler });

    // every alarm: breaching when the metric reaches `threshold`; missing data is fine (idle)
    const alarm = (
      id: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      periods: number,
      description: string,
      datapointsToAlarm = periods,
    ) =>
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: periods,
        datapointsToAlarm,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    const alarms = [
      alarm('ApiErrors', this.eventLog.metricErrors(), 1, 5, 'Sluice API answered 5xx', 3),
      alarm(
        'UnexpectedErrors',
        this.eventLog.metricUnexpectedErrors(),
        1,
        1,
        'Sluice API hit an unexpected error (a bug or corrupt data): see the "unexpected error" log lines of the API function',
      ),
      alarm('ApiThrottles', this.eventLog.metricThrottles(), 10, 5, 'Sluice API throttled requests'),
      alarm('TableThrottles', this.eventLog.metricTableThrottles(), 1, 5, 'DynamoDB throttled Sluice requests'),
      alarm(
        'FunctionErrors',
        this.api.metricErrors({ period: Duration.minutes(1) }),
        1,
        5,
        'Sluice API function errors',
      ),
      alarm(
        'ConsumerLag',
        this.eventLog.metricMaxConsumerLag({ period: props.maintenanceInterval ?? Duration.minutes(5) }),
        props.consumerLagAlarmThreshold ?? 100_000,
        2,
        'A Sluice consumer group is falling behind',
      ),
      alarm(
        'DispatcherErrors',
        this.dispatcher.metricErrors({ period: Duration.minutes(5) }),
        1,
        3,
        'Sluice subscription dispatcher failed (see its log); deliveries are retried, lag grows',
      ),
      alarm(
        'MaintenanceErrors',
        this.maintenance.metricErrors({ period: Duration.minutes(5) }),
        1,
        3,
        'Sluice maintenance job failed',
      ),
    ];
    if (props.alarmTopic) for (const a of alarms) a.addAlarmAction(new actions.SnsAction(props.alarmTopic));

    new cloudwatch.Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Records produced / consumed',
            left: [this.eventLog.metricProducedRecords(), this.eventLog.metricConsumedRecords()],
          }),
          new cloudwatch.GraphWidget({
            title: 'Produce latency p99 (ms)',
            left: [this.eventLog.metricProduceLatency()],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Errors and throttles',
            left: [
              this.eventLog.metricErrors(),
              this.eventLog.metricUnexpectedErrors(),
              this.eventLog.metricThrottles(),
              this.eventLog.metricTableThrottles(),
            ],
          }),
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Consumer lag (largest group)',
            left: [this.eventLog.metricMaxConsumerLag()],
            right: [this.eventLog.metricMaxConsumerLagAge()],
          }),
        ],
      ],
    });

    new CfnOutput(this, 'ApiUrl', { value: this.apiUrl.url, description: 'Sluice HTTP API (SigV4, service "lambda")' });
    new CfnOutput(this, 'Bucket', { value: this.eventLog.bucket.bucketName });
    new CfnOutput(this, 'Table', { value: this.eventLog.table.tableName });
    new CfnOutput(this, 'ApiFunction', { value: this.api.functionName });
    new CfnOutput(this, 'DispatcherFunction', { value: this.dispatcher.functionName });
    new CfnOutput(this, 'MaintenanceFunction', {
      value: this.maintenance.functionName,
      description: 'Invoke to run retention and GC now',
    });
  }

  /**
   * Lets `role` call the HTTP API and do what `acls` allow there: `lambda:InvokeFunctionUrl`,
   * and `lambda:InvokeFunction` only through the URL (`lambda:InvokedViaFunctionUrl`) — so
   * the role cannot invoke the function directly with a request context of its own making —
   * plus one ACL entry per item (`eventLog.allow`).
   */
  grantApi(role: iam.IRole, ...acls: AclProps[]): void {
    this.apiUrl.grantInvokeUrl(role);
    for (const acl of acls) this.eventLog.allow(role, acl);
  }

  /**
   * One role per function with exactly what it needs: writing its own log group (no AWS
   * managed policy); data access comes from the EventLog grants.
   */
  private roleAndLogs(name: string): { role: iam.Role; logGroup: logs.LogGroup } {
    const logGroup = new logs.LogGroup(this, `${name}Logs`, { retention: logs.RetentionDays.ONE_MONTH });
    const role = new iam.Role(this, `${name}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    return { role, logGroup };
  }
}
