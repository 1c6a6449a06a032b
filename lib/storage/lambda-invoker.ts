/**
 * The AWS adapter of a push subscription's Lambda target: one synchronous Invoke per batch
 * (the SDK retries throttles and transient errors itself).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

/** What an invocation answered: the function's error kind (if it failed) and its payload. */
export interface InvokeAnswer {
  readonly functionError?: string;
  readonly payload?: Uint8Array;
}

/** Invokes a function with a payload and answers what it returned. */
export type LambdaInvoker = (functionArn: string, payload: Uint8Array, signal: AbortSignal) => Promise<InvokeAnswer>;

/** The invoker over an SDK client (one per container). */
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
