/**
 * Lambda entry point of the custom resources a CDK app declares on an `EventLog`:
 * - `Custom::SluiceTopic` (`addTopic`): the topic brought to its declared partitions and
 *   retention (created, grown, retention set; never shrunk); deleted with the stack only if
 *   its removal policy says so (CloudFormation does not call a retained one);
 * - `Custom::SluiceSubscription` (`addSubscription`): the subscription created, changed or
 *   deleted, then the dispatcher kicked (records already waiting are delivered at once);
 * - `Custom::SluiceAcl` (`allow`, `grantApi`): the ACL entry created (its id, derived from its
 *   content, is the physical id: a changed entry is a new one, and CloudFormation deletes the
 *   old), deleted with its declaration.
 * Answers CloudFormation on the request's pre-signed URL. Environment: SLUICE_BUCKET,
 * SLUICE_TABLE, SLUICE_DISPATCHER_FUNCTION.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { type AclInput, createAcl, deleteAcl } from '../lib/access/manage';
import { createSluice } from '../lib/compose';
import { SluiceError, SubscriptionExistsError, SubscriptionNotFoundError, TopicNotFoundError } from '../lib/errors';
import { declareTopic } from '../lib/log/declare';
import type { CreateTopicRequest } from '../lib/log/topics';
import { awsStoresOptionsFromEnv, createAwsStores } from '../lib/storage/aws';
import { lambdaEventSender } from '../lib/storage/lambda-invoker';
import { parseSubscription } from '../lib/subscriptions/definition';
import { createSubscription, deleteSubscription, updateSubscription } from '../lib/subscriptions/manage';

const logger = new Logger({ serviceName: 'sluice-resources' });
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

/** What one request does: the resource's new physical id, and whether to kick the dispatcher. */
async function subscriptionRequest(event: CloudFormationCustomResourceEvent, physicalId: string): Promise<string> {
  const input = JSON.parse(String(event.ResourceProperties.Definition)) as unknown;
  if (event.RequestType === 'Delete') {
    await deleteSubscription(groups, physicalId).catch((e) => {
      if (!(e instanceof SubscriptionNotFoundError) && !/subscription name/.test(String(e))) throw e;
    });
    return physicalId;
  }
  const r = await apply(input, event.RequestType === 'Update' ? event.PhysicalResourceId : undefined);
  if (r.enabled && dispatcher) await send(dispatcher, { kick: [r.name] });
  return r.name;
}

async function aclRequest(event: CloudFormationCustomResourceEvent, physicalId: string): Promise<string> {
  const store = sluice.access as NonNullable<typeof sluice.access>;
  if (event.RequestType === 'Delete') {
    await deleteAcl(store, physicalId).catch((e) => {
      // never created (a failed create's id), or already gone
      if (!(e instanceof SluiceError && e.code === 'ACL_NOT_FOUND') && !/^failed-/.test(physicalId)) throw e;
    });
    return physicalId;
  }
  const input = JSON.parse(String(event.ResourceProperties.Acl)) as AclInput;
  const r = await createAcl(store, input, { principal: 'cloudformation', clock: sluice.clock });
  return r.acl.id;
}

async function topicRequest(event: CloudFormationCustomResourceEvent, physicalId: string): Promise<string> {
  const spec = JSON.parse(String(event.ResourceProperties.Topic)) as CreateTopicRequest;
  if (event.RequestType === 'Delete') {
    // only a topic declared with RemovalPolicy.DESTROY gets here (a retained one is not called)
    await sluice.log.deleteTopic(physicalId).catch((e) => {
      if (!(e instanceof TopicNotFoundError)) throw e;
    });
    return physicalId;
  }
  await declareTopic(sluice.log, spec);
  return spec.name;
}

/** The Lambda handler (the custom resources' service token). */
export const handler = async (event: CloudFormationCustomResourceEvent) => {
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = '';
  let physicalId = 'PhysicalResourceId' in event ? event.PhysicalResourceId : `failed-${event.RequestId}`;
  try {
    physicalId =
      event.ResourceType === 'Custom::SluiceTopic'
        ? await topicRequest(event, physicalId)
        : event.ResourceType === 'Custom::SluiceAcl'
          ? await aclRequest(event, physicalId)
          : await subscriptionRequest(event, physicalId);
    logger.info('declared resource', { type: event.ResourceType, requestType: event.RequestType, name: physicalId });
  } catch (e) {
    status = 'FAILED';
    reason = e instanceof Error ? e.message : String(e);
    logger.error('declared resource failed', { type: event.ResourceType, requestType: event.RequestType, reason });
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
