/**
 * The CDK app: `npx cdk deploy` (context `stage`, default "dev"; account and region from
 * the usual AWS variables). Context `tableCapacity` (JSON, see `EventLogProps.capacity`)
 * switches the table to provisioned capacity with autoscaling. Context `admins` (comma-separated
 * principal ARNs or `*`-suffixed prefixes) names who may do everything through the API,
 * ACLs included; `access=open` lets every caller do everything. cdk-nag's AwsSolutions
 * checks run on every synth.
 */
import { App } from 'aws-cdk-lib';
import { acknowledgeNagFindings, addNagChecks } from './nag';
import { SluiceStack } from './stack';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
const capacity = app.node.tryGetContext('tableCapacity');
const admins = String(app.node.tryGetContext('admins') ?? '')
  .split(',')
  .map((a) => a.trim())
  .filter((a) => a.length > 0);
const mode = app.node.tryGetContext('access') as 'acl' | 'open' | undefined;
if (mode !== undefined && mode !== 'acl' && mode !== 'open') throw new Error(`-c access=${mode} must be acl or open`);
const stack = new SluiceStack(app, `Sluice-${stage}`, {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  ...(capacity ? { tableCapacity: typeof capacity === 'string' ? JSON.parse(capacity) : capacity } : {}),
  access: { ...(mode ? { mode } : {}), admins },
});
acknowledgeNagFindings(stack);
addNagChecks(app);
app.synth();
