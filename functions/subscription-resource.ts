/**
 * Lambda entry point of `EventLog.addSubscription`'s custom resource: creates, changes and
 * deletes the push subscription a CDK app declares, then kicks the dispatcher (records
 * already waiting are delivered at once). Answers CloudFormation on the request's pre-signed
 * URL. Environment: SLUICE_BUCKET, SLUICE_TABLE, SLUICE_DISPATCHER_FUNCTION.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createSluice } from '../lib/compose';
import { SubscriptionExistsError, SubscriptionNotFoundError } from '../lib/errors';
import { awsStoresOptionsFromEnv, createAwsStores } from '../lib/storage/aws';
import { lambdaEventSender } from '../lib/storage/lambda-invoker';
import { parseSubscription } from '../lib/subscriptions/definition';
import { createSubscription, deleteSubscription, updateSubscription } from '../lib/subscriptions/manage';

const logger = new Logger({ serviceName: 'sluice-subscription-resource' });
const sluice = createSluice(createAwsStores(awsStoresOptionsFromEnv(process.env)));
const groups = sluice.groups as NonNullable<typeof sluice.groups>;
const dispatcher = process.env.SLUICE_DISPATCHER_FUNCTION;
const send = lambdaEventSender();

/** Creates the subscription, or (a retried create) brings the existing one to the definition. */
async function apply(input: unknown, physicalId: string | undefined): Promise<{ name: string; enabled: boolean }> {
  const r = parseSubscription(input);
  if ('problems' in r) throw new Error(r.problems.join('; '));
  const def = r.ok;
  const patch = { topics: def.topics, target: def.target, options: def.options };
  if (physicalId === def.name) {
    await updateSubscription(groups, def.name, patch);
  } else {
    try {
      await createSubscription(groups, input);
    } catch (e) {
      if (!(e instanceof SubscriptionExistsError)) throw e;
      await updateSubscription(groups, def.name, patch);
    }
  }
  return { name: def.name, enabled: def.options.enabled };
}

/** The Lambda handler (a custom resource's service token). */
export const handler = async (event: CloudFormationCustomResourceEvent) => {
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = '';
  let physicalId = 'PhysicalResourceId' in event ? event.PhysicalResourceId : `failed-${event.RequestId}`;
  try {
    const input = JSON.parse(String(event.ResourceProperties.Definition)) as unknown;
    if (event.RequestType === 'Delete') {
      await deleteSubscription(groups, physicalId).catch((e) => {
        if (!(e instanceof SubscriptionNotFoundError) && !/subscription name/.test(String(e))) throw e;
      });
    } else {
      const r = await apply(input, event.RequestType === 'Update' ? event.PhysicalResourceId : undefined);
      physicalId = r.name;
      if (r.enabled && dispatcher) await send(dispatcher, { kick: [r.name] });
    }
    logger.info('subscription resource', { requestType: event.RequestType, name: physicalId });
  } catch (e) {
    status = 'FAILED';
    reason = e instanceof Error ? e.message : String(e);
    logger.error('subscription resource failed', { requestType: event.RequestType, reason });
  }
  const body = JSON.stringify({
    Status: status,
    Reason: reason.slice(0, 1000) || 'see the log of the subscription resource function',
    PhysicalResourceId: physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: { Name: physicalId },
  });
  // the pre-signed URL takes a PUT with no content type
  const res = await fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!res.ok) throw new Error(`CloudFormation's response URL answered ${res.status}`);
};
