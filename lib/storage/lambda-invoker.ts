/**
 * The AWS adapter of Lambda invocations: a push subscription's Lambda target (one
 * synchronous Invoke per batch) and the dispatcher's hand-overs (asynchronous Invokes of
 * itself, or from the API and the maintenance job). The SDK retries throttles and transient
 * errors itself.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

/** What an invocation answered: the function's error kind (if it failed) and its payload. */
export interface InvokeAnswer {
  readonly functionError?: string;
  readonly payload?: Uint8Array;
}

/** Invokes a function with a payload and answers what it returned. */
export type LambdaInvoker = (functionArn: string, payload: Uint8Array, signal: AbortSignal) => Promise<InvokeAnswer>;

/** Queues an event for a function (asynchronous invocation: Lambda retries it). */
export type LambdaEventSender = (functionName: string, event: unknown) => Promise<void>;

/** The synchronous invoker over an SDK client (one per container). */
export function lambdaInvoker(client: LambdaClient = new LambdaClient({})): LambdaInvoker {
  return async (functionArn, payload, signal) => {
    const r = await client.send(
      new InvokeCommand({ FunctionName: functionArn, InvocationType: 'RequestResponse', Payload: payload }),
      { abortSignal: signal },
    );
    return {
      ...(r.FunctionError ? { functionError: r.FunctionError } : {}),
      ...(r.Payload ? { payload: r.Payload } : {}),
    };
  };
}

/** The asynchronous sender over an SDK client. */
export function lambdaEventSender(client: LambdaClient = new LambdaClient({})): LambdaEventSender {
  return async (functionName, event) => {
    await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
  };
}
