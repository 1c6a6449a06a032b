/**
 * The CDK app: `npx cdk deploy` (context `stage`, default "dev"; account and region from
 * the usual AWS variables). Context `tableCapacity` (JSON, see `EventLogProps.capacity`)
 * switches the table to provisioned capacity with autoscaling. cdk-nag's AwsSolutions
 * checks run on every synth.
 */
import { App } from 'aws-cdk-lib';
import { acknowledgeNagFindings, addNagChecks } from './nag';
import { SluiceStack } from './stack';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
const capacity = app.node.tryGetContext('tableCapacity');
const stack = new SluiceStack(app, `Sluice-${stage}`, {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  ...(capacity ? { tableCapacity: typeof capacity === 'string' ? JSON.parse(capacity) : capacity } : {}),
});
acknowledgeNagFindings(stack);
addNagChecks(app);
app.synth();
