/**
 * cdk-nag (AwsSolutions pack) on every synth, and the findings Sluice acknowledges by
 * design — each with its reason. Anything else fails the synth.
 */
import { type App, type CfnElement, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { SluiceStack } from './stack';

/** Adds the AwsSolutions checks to the app. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

/** Acknowledges the findings Sluice accepts by design. */
export function acknowledgeNagFindings(stack: SluiceStack): void {
  const bucketId = stack.getLogicalId(stack.eventLog.bucket.node.defaultChild as CfnElement);
  for (const fn of [stack.api, stack.maintenance, stack.dispatcher]) {
    Validations.of(fn.role as IConstruct).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/segments/*]`,
      reason:
        'Segment objects have unique keys under segments/ (created per produce call): object ARNs cannot be enumerated, so grants name the segments/* prefix. No wildcard actions are granted.',
    });
  }
  Validations.of(stack.dispatcher.role as IConstruct).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      "dynamodb:ListStreams, which the table stream's event-source mapping needs, takes no resource: IAM allows only *. The stream itself is read by its ARN.",
  });
  Validations.of(stack.eventLog.bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'Server access logging is optional (EventLogProps.accessLogsBucket); CloudTrail data events are the recommended audit trail.',
  });
}
