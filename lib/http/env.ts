/**
 * What the routes and middleware of the HTTP app share per request, and the one way an
 * error answer is written (so the response hook knows its code without re-reading it).
 */
import type { Context } from 'hono';
import type { ErrorBody } from './errors';

/** Per-request values of the app. */
export type AppEnv = {
  Variables: {
    /** Records produced or fetched, and their key + value bytes. */
    counted?: { records: number; bytes: number };
    requestId: string;
    /** The `code` of an error answer. */
    errorCode?: string;
  };
};

/** Answers with an error body, recording its code for the response hook. */
export function answerError(c: Context<AppEnv>, body: ErrorBody, status: number) {
  c.set('errorCode', body.error.code);
  return c.json(body, status as 400);
}
