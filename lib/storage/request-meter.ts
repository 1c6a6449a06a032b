/**
 * The cost meter: middleware on real S3 and DynamoDB clients that sees every attempt they
 * send (it sits below the SDK's retry middleware, so a retried request is counted each time
 * it reaches the service) and prices it by AWS's billing rules (ECONOMICS §1) — S3 requests
 * by class, DynamoDB request units computed from item sizes with `dynamo-units.ts`, never
 * from the emulators' ConsumedCapacity.
 *
 * Item sizes the request alone does not show (the item an UpdateItem, a DeleteItem or a
 * ConditionCheck touches, the image a Put replaces) come from a shadow of the table: the
 * meter remembers the size of every item it saw written or read, and reads an updated item
 * back through a separate, unmetered client — at its first update and every 8th after
 * (every read-back is load on the emulator, which would slow the measured calls and so
 * change their batching). Read-backs are not awaited by the request that caused them;
 * `settle()` waits for them before a report is taken. Between read-backs an item is taken
 * to keep its size, and a read-back may see a later write of the same item; Sluice's
 * updated items (heads, leases, members) change size little, so the error is small.
 *
 * Charged failures: a failed condition and a cancelled transaction cost what the write
 * would have (AWS charges both); throttling, 5xx and network errors cost nothing.
 */
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { type AttributeValueLike, itemSize, readUnits, writeUnits } from './dynamo-units';
import { itemKind, TABLE_KEY } from './layout';

type Item = Readonly<Record<string, AttributeValueLike>>;
type Handler = (args: { input: Record<string, unknown> }) => Promise<{ output?: Record<string, unknown> }>;
/** The slice of the SDK's middleware stack used here (its real type is a union of overloads). */
interface Stack {
  add(mw: (next: Handler, context: { commandName?: string }) => Handler, options: object): void;
}
const stackOf = (client: S3Client | DynamoDBClient) => client.middlewareStack as unknown as Stack;

/** How often an updated item is read back to learn its new size (1 = after every update). */
const READ_BACK_EVERY = 8;

/** S3 request classes as S3 prices them. */
export type S3Class = 'put' | 'get' | 'free';

const S3_CLASSES: Readonly<Record<string, S3Class>> = {
  PutObject: 'put',
  CopyObject: 'put',
  ListObjects: 'put',
  ListObjectsV2: 'put',
  CreateMultipartUpload: 'put',
  UploadPart: 'put',
  CompleteMultipartUpload: 'put',
  CreateBucket: 'put',
  GetObject: 'get',
  HeadObject: 'get',
  HeadBucket: 'get',
  DeleteObject: 'free',
  DeleteObjects: 'free',
  AbortMultipartUpload: 'free',
};

/** What one role's requests cost: counts by kind and DynamoDB units. */
export interface MeterTally {
  s3Put: number;
  s3Get: number;
  s3Free: number;
  /** Bytes sent in PUTs and received in GETs. */
  s3PutBytes: number;
  s3GetBytes: number;
  /** DynamoDB write and read request units (on-demand). */
  wru: number;
  rru: number;
  /** Attempts by command (`S3:PutObject`, `DynamoDB:TransactWriteItems`, ...). */
  commands: Record<string, number>;
  /** DynamoDB units by operation. */
  units: Record<string, { wru: number; rru: number }>;
  /** DynamoDB units by the kind of item they were spent on (`itemKind`: head, call, lease ...). */
  items: Record<string, { wru: number; rru: number }>;
  /** Attempts that failed: charged (condition, cancelled transaction) or not. */
  chargedFailures: number;
  freeFailures: number;
}

const emptyTally = (): MeterTally => ({
  s3Put: 0,
  s3Get: 0,
  s3Free: 0,
  s3PutBytes: 0,
  s3GetBytes: 0,
  wru: 0,
  rru: 0,
  commands: {},
  units: {},
  items: {},
  chargedFailures: 0,
  freeFailures: 0,
});

/** Adds one request's units to its role's tally, in total, by operation and by item kind. */
interface Charge {
  write(units: number, key: Item): void;
  read(units: number, key: Item): void;
}

const kindOf = (key: Item) => {
  const text = (v: AttributeValueLike | undefined) => (typeof v === 'string' ? v : ((v as { S?: string })?.S ?? ''));
  return itemKind(text(key[TABLE_KEY.partitionKey]), text(key[TABLE_KEY.sortKey]));
};

function chargeTo(t: MeterTally, op: string): Charge {
  const add = (n: number, key: Item, unit: 'wru' | 'rru') => {
    t[unit] += n;
    t.units[op] ??= { wru: 0, rru: 0 };
    t.units[op][unit] += n;
    const kind = kindOf(key);
    t.items[kind] ??= { wru: 0, rru: 0 };
    t.items[kind][unit] += n;
  };
  return { write: (n, key) => add(n, key, 'wru'), read: (n, key) => add(n, key, 'rru') };
}

/** Sums unit maps (by operation or by item kind). */
function addUnits(into: MeterTally['units'], from: MeterTally['units']): void {
  for (const [k, u] of Object.entries(from)) {
    const mine = into[k] ?? { wru: 0, rru: 0 };
    into[k] = { wru: mine.wru + u.wru, rru: mine.rru + u.rru };
  }
}

/** Sums tallies (e.g. every role of a scenario). */
export function sumTallies(tallies: readonly MeterTally[]): MeterTally {
  const t = emptyTally();
  for (const x of tallies) {
    t.s3Put += x.s3Put;
    t.s3Get += x.s3Get;
    t.s3Free += x.s3Free;
    t.s3PutBytes += x.s3PutBytes;
    t.s3GetBytes += x.s3GetBytes;
    t.wru += x.wru;
    t.rru += x.rru;
    t.chargedFailures += x.chargedFailures;
    t.freeFailures += x.freeFailures;
    for (const [k, n] of Object.entries(x.commands)) t.commands[k] = (t.commands[k] ?? 0) + n;
    addUnits(t.units, x.units);
    addUnits(t.items, x.items);
  }
  return t;
}

/** The DocumentClient's command names, as the service's operations. */
const DYNAMO_OPERATIONS: Readonly<Record<string, string>> = {
  Put: 'PutItem',
  Get: 'GetItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactWrite: 'TransactWriteItems',
  TransactGet: 'TransactGetItems',
};
const operationOf = (commandName: string | undefined) => {
  const n = String(commandName ?? 'unknown').replace(/Command$/, '');
  return DYNAMO_OPERATIONS[n] ?? n;
};

/** Failures AWS charges for: the write was evaluated, its condition failed. */
const isChargedFailure = (e: unknown) => {
  const name = (e as { name?: string }).name;
  if (name === 'ConditionalCheckFailedException') return true;
  if (name !== 'TransactionCanceledException') return false;
  const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return !reasons.some((r) => r.Code === 'ThrottlingError' || r.Code === 'ProvisionedThroughputExceeded');
};

const AV_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'SS', 'NS', 'BS', 'L', 'M']);
const isAttributeValue = (v: unknown) => {
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array || v instanceof Set || Array.isArray(v)) {
    return false;
  }
  const keys = Object.keys(v);
  return keys.length === 1 && AV_TYPES.has(keys[0] as string);
};
/**
 * An item as DynamoDB sizes it. Below the retry middleware a DocumentClient's request is
 * already marshalled, but its response is not: the DocumentClient unmarshals just above
 * the deserializer, so responses arrive here as plain values; they are marshalled back.
 */
const asItem = (item: Record<string, unknown>): Item =>
  Object.values(item).every(isAttributeValue)
    ? (item as Item)
    : (marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true }) as Item);

type BatchRequest = {
  PutRequest?: { Item: Record<string, unknown> };
  DeleteRequest?: { Key: Record<string, unknown> };
};
const requestId = (r: BatchRequest) =>
  JSON.stringify(r.PutRequest ? ['P', asItem(r.PutRequest.Item)] : ['D', asItem(r.DeleteRequest?.Key ?? {})]);

const bodyBytes = (body: unknown): number => {
  if (body instanceof Uint8Array) return body.byteLength;
  if (typeof body === 'string') return Buffer.byteLength(body);
  return 0;
};

/**
 * Meters the clients attached to it, a tally per role (the producer's clients, a consumer's,
 * the maintenance job's ...). One meter per measurement; `reset()` starts a new one.
 */
export class RequestMeter {
  private readonly tallies = new Map<string, MeterTally>();
  /** Item sizes by table and key, as last seen. */
  private readonly sizes = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  /** Updates seen per item (read-backs are sampled). */
  private readonly updates = new Map<string, number>();

  /** `shadow`: an unmetered client on the same DynamoDB endpoint, for read-backs. */
  constructor(private readonly shadow: DynamoDBClient) {}

  /** The tally of one role (created empty). */
  tally(role: string): MeterTally {
    let t = this.tallies.get(role);
    if (!t) {
      t = emptyTally();
      this.tallies.set(role, t);
    }
    return t;
  }

  /** Every role's tally, after the pending read-backs landed. */
  async report(): Promise<Record<string, MeterTally>> {
    await this.settle();
    return Object.fromEntries(this.tallies);
  }

  /** Waits for the read-backs of earlier updates (their units are added when they land). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** Zeroes every tally (the shadow of item sizes stays: the items still exist). */
  async reset(): Promise<void> {
    await this.settle();
    this.tallies.clear();
  }

  /**
   * Bytes a table stores as DynamoDB bills them (each item's size plus 100 bytes of
   * overhead), over the items this meter saw and not deleted.
   */
  storedItemBytes(table: string): number {
    let n = 0;
    for (const [k, bytes] of this.sizes) if (bytes > 0 && k.startsWith(`${table}\u0000`)) n += bytes + 100;
    return n;
  }

  /** Meters an S3 client's requests under `role`. */
  attachS3(client: S3Client, role: string): void {
    stackOf(client).add(
      (next, context) => async (args) => {
        const op = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        const t = this.tally(role);
        t.commands[`S3:${op}`] = (t.commands[`S3:${op}`] ?? 0) + 1;
        const cls = S3_CLASSES[op] ?? 'put';
        if (cls === 'put') t.s3Put++;
        else if (cls === 'get') t.s3Get++;
        else t.s3Free++;
        if (op === 'PutObject' || op === 'UploadPart') t.s3PutBytes += bodyBytes(args.input.Body);
        try {
          const out = await next(args);
          if (op === 'GetObject') t.s3GetBytes += Number(out.output?.ContentLength ?? 0);
          return out;
        } catch (e) {
          // S3 charges a request that reached it whatever the answer (a failed If-None-Match PUT too)
          t.freeFailures++;
          throw e;
        }
      },
      { step: 'finalizeRequest', priority: 'low', name: `sluiceMeter-${role}`, override: true },
    );
  }

  /** Meters a DynamoDB client's requests (and its DocumentClient's) under `role`. */
  attachDynamo(client: DynamoDBClient, role: string): void {
    stackOf(client).add(
      (next, context) => async (args) => {
        const op = operationOf(context.commandName);
        const t = this.tally(role);
        t.commands[`DynamoDB:${op}`] = (t.commands[`DynamoDB:${op}`] ?? 0) + 1;
        try {
          const out = await next(args);
          this.price(chargeTo(t, op), op, args.input, out.output ?? {}, true);
          return out;
        } catch (e) {
          if (isChargedFailure(e)) {
            t.chargedFailures++;
            this.price(chargeTo(t, op), op, args.input, {}, false);
          } else {
            t.freeFailures++;
          }
          throw e;
        }
      },
      { step: 'finalizeRequest', priority: 'low', name: `sluiceMeter-${role}`, override: true },
    );
  }

  private keyOf(table: string, key: Item): string {
    return `${table}\u0000${JSON.stringify(key[TABLE_KEY.partitionKey])}\u0000${JSON.stringify(key[TABLE_KEY.sortKey])}`;
  }

  private keyOfItem(item: Item): Item {
    return {
      [TABLE_KEY.partitionKey]: item[TABLE_KEY.partitionKey] as AttributeValueLike,
      [TABLE_KEY.sortKey]: item[TABLE_KEY.sortKey] as AttributeValueLike,
    };
  }

  private seen(table: string, item: Item): number {
    const bytes = itemSize(item);
    this.sizes.set(this.keyOf(table, this.keyOfItem(item)), bytes);
    return bytes;
  }

  private sizeOf(table: string, key: Item): number {
    return this.sizes.get(this.keyOf(table, key)) ?? 0;
  }

  /**
   * Adds the units of an update once the item's new size is known: `factor` 2 in a
   * transaction. Unapplied (a failed condition): the item did not change.
   */
  private updateUnits(t: Charge, table: string, key: Item, factor: number, applied: boolean): void {
    const before = this.sizeOf(table, key);
    const id = this.keyOf(table, key);
    const n = (this.updates.get(id) ?? 0) + 1;
    this.updates.set(id, n);
    // an item is read back at its first update and then every READ_BACK_EVERY-th; in
    // between it is taken to keep its size (Sluice's hot items — heads, leases — do)
    if (!applied || (n > 1 && n % READ_BACK_EVERY !== 0)) {
      t.write(factor * writeUnits(before), key);
      return;
    }
    const readBack: Promise<void> = this.shadow
      .send(new GetItemCommand({ TableName: table, Key: key as never, ConsistentRead: true }))
      .then(
        (r) => {
          const after = r.Item ? itemSize(r.Item as Item) : 0;
          this.sizes.set(id, after);
          t.write(factor * writeUnits(after, before), key);
        },
        () => {
          t.write(factor * writeUnits(before), key);
        },
      )
      .finally(() => this.pending.delete(readBack));
    this.pending.add(readBack);
  }

  private writeAction(
    t: Charge,
    kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck',
    a: Record<string, unknown>,
    factor: number,
    applied: boolean,
  ): void {
    const table = String(a.TableName);
    if (kind === 'Put') {
      const item = a.Item as Item;
      const key = this.keyOfItem(item);
      const before = this.sizeOf(table, key);
      const bytes = itemSize(item);
      t.write(factor * writeUnits(applied ? bytes : before, applied ? before : 0), key);
      if (applied) this.seen(table, item);
      return;
    }
    const key = a.Key as Item;
    if (kind === 'Update') {
      this.updateUnits(t, table, key, factor, applied);
      return;
    }
    t.write(factor * writeUnits(this.sizeOf(table, key)), key);
    if (kind === 'Delete' && applied) this.sizes.set(this.keyOf(table, key), 0);
  }

  private readItems(t: Charge, table: string, items: readonly Item[], consistent: boolean, factor = 1): void {
    for (const item of items) t.read(factor * readUnits(this.seen(table, item), consistent), item);
  }

  private price(
    t: Charge,
    op: string,
    input: Record<string, unknown>,
    output: Record<string, unknown>,
    applied: boolean,
  ): void {
    const table = String(input.TableName ?? '');
    const consistent = input.ConsistentRead === true;
    switch (op) {
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem':
        this.writeAction(t, op.replace('Item', '') as 'Put' | 'Update' | 'Delete', input, 1, applied);
        return;
      case 'GetItem': {
        const item = output.Item as Record<string, unknown> | undefined;
        t.read(
          readUnits(item ? this.seen(table, asItem(item)) : 0, consistent),
          asItem(input.Key as Record<string, unknown>),
        );
        return;
      }
      case 'Query':
      case 'Scan': {
        // one page: the sizes of everything it read, rounded once
        const items = (output.Items ?? []) as Record<string, unknown>[];
        let bytes = 0;
        for (const item of items) bytes += this.seen(table, asItem(item));
        const values = (input.ExpressionAttributeValues ?? {}) as Record<string, AttributeValueLike>;
        const first = items[0] ? asItem(items[0]) : { [TABLE_KEY.partitionKey]: values[':pk'] ?? { S: '' } };
        t.read(readUnits(bytes, consistent), first);
        return;
      }
      case 'BatchGetItem': {
        // every key read costs at least the minimum, found or not (a missing item too);
        // keys handed back unprocessed were not read
        const request = (input.RequestItems ?? {}) as Record<
          string,
          { Keys?: Record<string, unknown>[]; ConsistentRead?: boolean }
        >;
        const responses = (output.Responses ?? {}) as Record<string, Record<string, unknown>[]>;
        const unprocessed = (output.UnprocessedKeys ?? {}) as Record<string, { Keys?: unknown[] }>;
        for (const [name, r] of Object.entries(request)) {
          const consistent = r.ConsistentRead === true;
          const items = (responses[name] ?? []).map(asItem);
          this.readItems(t, name, items, consistent);
          const missing = (r.Keys?.length ?? 0) - (unprocessed[name]?.Keys?.length ?? 0) - items.length;
          for (let k = 0; k < missing; k++) t.read(readUnits(0, consistent), asItem(r.Keys?.[0] ?? {}));
        }
        return;
      }
      case 'BatchWriteItem': {
        // (unprocessed requests come back unmarshalled from a DocumentClient: compare marshalled)
        const unprocessed = (output.UnprocessedItems ?? {}) as Record<string, BatchRequest[]>;
        for (const [name, requests] of Object.entries((input.RequestItems ?? {}) as Record<string, unknown[]>)) {
          const skipped = new Set((unprocessed[name] ?? []).map(requestId));
          for (const r of requests as BatchRequest[]) {
            if (skipped.has(requestId(r))) continue;
            if (r.PutRequest)
              this.writeAction(t, 'Put', { TableName: name, Item: asItem(r.PutRequest.Item) }, 1, applied);
            if (r.DeleteRequest) {
              this.writeAction(t, 'Delete', { TableName: name, Key: asItem(r.DeleteRequest.Key) }, 1, applied);
            }
          }
        }
        return;
      }
      case 'TransactWriteItems':
        for (const action of (input.TransactItems ?? []) as Record<string, Record<string, unknown>>[]) {
          for (const kind of ['Put', 'Update', 'Delete', 'ConditionCheck'] as const) {
            if (action[kind]) this.writeAction(t, kind, action[kind], 2, applied);
          }
        }
        return;
      case 'TransactGetItems':
        for (const r of (output.Responses ?? []) as { Item?: Record<string, unknown> }[]) {
          t.read(2 * readUnits(r.Item ? itemSize(asItem(r.Item)) : 0, true), asItem(r.Item ?? {}));
        }
        return;
      default:
        // control-plane calls (CreateTable, DescribeTable ...) are not request units
        return;
    }
  }
}
