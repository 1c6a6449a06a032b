/**
 * `sluice`: the command line (ARCHITECTURE §8) over the same client as the library — against
 * the local server (`npm start`), a deployed API (SigV4 with the usual AWS credentials) or,
 * with `--direct`, the bucket and table themselves. Tables on a terminal, `--json` for
 * scripts; exit codes 0 (done), 1 (error), 2 (usage), 3 (not found).
 */
import { createInterface } from 'node:readline';
import { Command, CommanderError, Option } from 'commander';
import type { AclInput } from '../access/manage';
import { OPERATIONS } from '../access/model';
import { LOCAL_PRINCIPAL_HEADER } from '../access/principal';
import { Sluice } from '../client/sluice';
import { HttpTransport } from '../client/transport';
import { systemClock } from '../clock';
import type { ErrorCode } from '../errors';
import { SluiceError } from '../errors';
import type { ResetTarget } from '../groups/coordinator';

/** Where a run reads and writes (a test gives its own). */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly out: (text: string | Uint8Array) => void;
  /** stderr is a terminal (progress is shown). */
  readonly isTTY?: boolean;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3 } as const;

const NOT_FOUND: readonly ErrorCode[] = [
  'TOPIC_NOT_FOUND',
  'PARTITION_NOT_FOUND',
  'SUBSCRIPTION_NOT_FOUND',
  'ACL_NOT_FOUND',
];

/** A usage mistake the user can fix from the message (exit 2). */
class UsageError extends Error {}

type Global = { url?: string; region?: string; direct?: string; json?: boolean; principal?: string };

function connect(g: Global, env: CliIo['env']): Sluice {
  if (g.direct) {
    const [bucket, table] = g.direct.split(',');
    if (!bucket || !table) throw new UsageError('--direct takes <bucket>,<table>');
    return new Sluice({ direct: { bucket, table, ...(g.region ? { region: g.region } : {}) } });
  }
  const url = g.url ?? env.SLUICE_URL ?? 'http://127.0.0.1:8787';
  const loopback = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(url);
  // a deployed API is signed with the caller's AWS credentials; the local server takes no signature
  const region = g.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!loopback && !region)
    throw new UsageError(`${url} is not the local server: give --region (or AWS_REGION) to sign requests`);
  const headers = g.principal ? { [LOCAL_PRINCIPAL_HEADER]: g.principal } : undefined;
  return new Sluice({ http: { url, ...(loopback ? {} : { region }), ...(headers ? { headers } : {}) } });
}

/** `earliest`, `latest`, an offset or `@<ISO time>` as a reset target. */
function resetTarget(v: string): ResetTarget {
  if (v === 'earliest' || v === 'latest') return v;
  if (/^\d+$/.test(v)) return { offset: Number(v) };
  if (v.startsWith('@')) return { timestamp: timeOf(v.slice(1)) };
  throw new UsageError(`--to takes earliest, latest, an offset or @<ISO time>, not "${v}"`);
}

function timeOf(iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new UsageError(`"${iso}" is not an ISO 8601 time`);
  return ms;
}

function targetOf(t: { type: string; functionArn?: string; url?: string; path?: string }): string {
  return t.functionArn ?? t.url ?? t.path ?? t.type;
}

type Line = { value: Buffer | null; key?: Buffer; headers?: Record<string, string>; partition?: number };

/** A text line: the value, or `key<sep>value`. */
function textLine(line: string, sep: string | undefined): Line {
  const i = sep === undefined ? -1 : line.indexOf(sep);
  if (i < 0) return { value: Buffer.from(line) };
  return { key: Buffer.from(line.slice(0, i)), value: Buffer.from(line.slice(i + (sep as string).length)) };
}

/** A JSON line: `{"value", "key"?, "headers"?, "partition"?, "encoding"?}`; base64 decodes key and value. */
function jsonLine(line: string, n: number): Line {
  let j: { value?: unknown; key?: unknown; headers?: unknown; partition?: unknown; encoding?: unknown };
  try {
    j = JSON.parse(line);
  } catch {
    throw new UsageError(`line ${n} is not JSON: ${line.slice(0, 80)}`);
  }
  const enc = j.encoding === 'base64' ? 'base64' : 'utf8';
  const bytes = (v: unknown, what: string) => {
    if (typeof v !== 'string') throw new UsageError(`line ${n}: ${what} must be a string`);
    return Buffer.from(v, enc);
  };
  if (j.partition !== undefined && !(Number.isInteger(j.partition) && (j.partition as number) >= 0)) {
    throw new UsageError(`line ${n}: partition must be a non-negative integer`);
  }
  return {
    value: j.value === null ? null : bytes(j.value, 'value'),
    ...(j.key !== undefined && j.key !== null ? { key: bytes(j.key, 'key') } : {}),
    ...(j.headers && typeof j.headers === 'object' ? { headers: j.headers as Record<string, string> } : {}),
    ...(j.partition !== undefined ? { partition: j.partition as number } : {}),
  };
}

/** A record through a kcat-style template (`%k\t%s\n`). */
function fill(
  template: string,
  topic: string,
  partition: number,
  r: {
    offset: number;
    timestamp: number;
    key: Uint8Array | null;
    value: Uint8Array | null;
    headers: readonly (readonly [string, Uint8Array | null])[];
  },
): string {
  const text = (b: Uint8Array | null) => (b === null ? '' : Buffer.from(b).toString());
  const fields: Record<string, () => string> = {
    '%t': () => topic,
    '%p': () => String(partition),
    '%o': () => String(r.offset),
    '%k': () => text(r.key),
    '%s': () => text(r.value),
    '%T': () => String(r.timestamp),
    '%h': () => r.headers.map(([k, v]) => `${k}=${text(v)}`).join(','),
    '%%': () => '%',
    '\\n': () => '\n',
    '\\t': () => '\t',
    '\\\\': () => '\\',
  };
  return template.replace(/%[tpokTsh%]|\\[nt\\]/g, (m) => fields[m]?.() ?? m);
}

/** Columns padded to their widest cell. */
function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, String(c).length);
    });
  }
  return rows
    .map((r) =>
      r
        .map((c, i) => String(c).padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function positiveInt(what: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new UsageError(`${what} must be a non-negative integer, not "${v}"`);
    return Number(v);
  };
}

/** Builds the program; `io` is where it reads and writes. */
export function program(io: CliIo): Command {
  const root = new Command('sluice')
    .description('Sluice from the command line: topics, records, access rules')
    .option('--url <url>', 'the HTTP API (default: $SLUICE_URL, else the local server http://127.0.0.1:8787)')
    .option('--region <region>', 'AWS region to sign requests for (a deployed API; default $AWS_REGION)')
    .option('--direct <bucket,table>', 'talk to the bucket and table directly (trusts you with the whole log)')
    .option('--json', 'print JSON (stable, for scripts)')
    .option(
      '--principal <arn>',
      'who you are to `SLUICE_ACCESS=acl npm start` (a deployed API knows it from your signature)',
    )
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  sluice topics create orders --partitions 12',
        "  printf 'a\\nb\\n' | sluice produce orders",
        '  sluice consume orders --from earliest --follow',
        '  sluice groups describe billing',
        '  sluice --url https://abc.lambda-url.us-east-1.on.aws --region us-east-1 topics list',
        '',
        'Exit codes: 0 done, 1 error, 2 usage, 3 not found. Every command has --help.',
      ].join('\n'),
    );
  const g = () => root.opts<Global>();
  const client = () => connect(g(), io.env);
  const print = (json: unknown, text: () => string) => io.out(`${g().json ? JSON.stringify(json) : text()}\n`);

  const topics = root.command('topics').description('list, create, describe, alter and delete topics');
  topics
    .command('list')
    .description('the topics you may describe')
    .action(async () => {
      const t = await client().transport.listTopics();
      print(t, () =>
        t.length ? table([['TOPIC', 'PARTITIONS'], ...t.map((x) => [x.name, x.partitions])]) : '(no topics)',
      );
    });
  topics
    .command('create <topic>')
    .description('create a topic')
    .requiredOption('-p, --partitions <n>', 'partitions (they only grow)', positiveInt('--partitions'))
    .option('--retention-ms <ms>', 'delete records older than this', positiveInt('--retention-ms'))
    .addHelpText('after', '\nExample:\n  sluice topics create orders --partitions 12 --retention-ms 604800000')
    .action(async (name: string, o: { partitions: number; retentionMs?: number }) => {
      await client().transport.createTopic({
        name,
        partitions: o.partitions,
        ...(o.retentionMs !== undefined ? { retentionMs: o.retentionMs } : {}),
      });
      print({ name, partitions: o.partitions }, () => `created topic ${name} (${o.partitions} partitions)`);
    });
  topics
    .command('describe <topic>')
    .description('partitions with their start offset and high watermark')
    .action(async (name: string) => {
      const d = await client().transport.describeTopic(name);
      print(d, () =>
        [
          `topic ${d.name}: ${d.partitions} partitions, retention ${d.retentionMs === null ? 'forever' : `${d.retentionMs} ms`}`,
          table([
            ['PARTITION', 'START', 'HIGH WATERMARK'],
            ...d.offsets.map((o) => [o.partition, o.startOffset, o.highWatermark]),
          ]),
        ].join('\n'),
      );
    });
  topics
    .command('alter <topic>')
    .description('change retention or grow partitions')
    .option('-p, --partitions <n>', 'grow to this many partitions', positiveInt('--partitions'))
    .option('--retention-ms <ms>', 'new retention', positiveInt('--retention-ms'))
    .option('--no-retention', 'keep records forever')
    .action(async (name: string, o: { partitions?: number; retentionMs?: number; retention?: boolean }) => {
      const change = {
        ...(o.partitions !== undefined ? { partitions: o.partitions } : {}),
        ...(o.retentionMs !== undefined ? { retentionMs: o.retentionMs } : {}),
        ...(o.retention === false ? { retentionMs: null } : {}),
      };
      if (Object.keys(change).length === 0)
        throw new UsageError('say what to alter: --partitions, --retention-ms or --no-retention');
      await client().transport.updateTopic(name, change);
      print({ name, ...change }, () => `altered topic ${name}`);
    });
  topics
    .command('delete <topic>')
    .description('delete a topic and its records')
    .option('-y, --yes', 'do not ask')
    .action(async (name: string, o: { yes?: boolean }) => {
      if (!o.yes) throw new UsageError(`deleting "${name}" removes its records for good: run again with --yes`);
      await client().transport.deleteTopic(name);
      print({ name, deleted: true }, () => `deleted topic ${name}`);
    });

  root
    .command('produce <topic>')
    .description('produce one record per line of stdin (or --file)')
    .option('-f, --file <path>', 'read records from a file instead of stdin')
    .option('-K, --key-separator <sep>', 'each line is key<sep>value')
    .option('--partition <p>', 'to this partition (default: by key, else spread)', positiveInt('--partition'))
    .option('-H, --header <k=v...>', 'a header on every record (repeatable)')
    .option(
      '-J, --json-lines',
      'each line is {"value", "key"?, "headers"?, "partition"?, "encoding"?: "base64"} (binary-safe with base64)',
    )
    .addHelpText(
      'after',
      "\nExamples:\n  printf 'a\\nb\\n' | sluice produce orders\n  printf 'c-9\\t{\"total\":42}\\n' | sluice produce orders -K $'\\t'",
    )
    .action(
      async (
        topic: string,
        o: { file?: string; keySeparator?: string; partition?: number; header?: string[]; jsonLines?: boolean },
      ) => {
        const headers: Record<string, string> = {};
        for (const h of o.header ?? []) {
          const i = h.indexOf('=');
          if (i < 1) throw new UsageError(`--header takes name=value, not "${h}"`);
          headers[h.slice(0, i)] = h.slice(i + 1);
        }
        const sluice = client();
        const producer = sluice.producer();
        const input = o.file ? (await import('node:fs')).createReadStream(o.file) : io.stdin;
        const started = systemClock.nowMs();
        let records = 0;
        let bytes = 0;
        const partitions = new Set<number>();
        const sends: Promise<void>[] = [];
        // progress on a terminal only: a pipe's stderr stays quiet
        const progress = io.isTTY === true;
        for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
          if (o.jsonLines && line.trim() === '') continue;
          const m = o.jsonLines ? jsonLine(line, records + 1) : textLine(line, o.keySeparator);
          records++;
          bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
          const message = {
            value: m.value,
            ...(m.key !== undefined ? { key: m.key } : {}),
            ...((m.partition ?? o.partition) !== undefined ? { partition: m.partition ?? o.partition } : {}),
            ...(Object.keys(headers).length || m.headers ? { headers: { ...headers, ...m.headers } } : {}),
          };
          sends.push(
            producer.send({ topic, messages: [message] }).then((r) => {
              for (const x of r) partitions.add(x.partition);
            }),
          );
          // the producer batches what is pending; a long input waits for it instead of buffering without bound
          if (sends.length >= 5000) await Promise.all(sends.splice(0));
          if (progress && records % 10_000 === 0) io.err(`\r[sluice] ${records} records sent`);
        }
        await Promise.all(sends);
        await producer.close();
        const summary = {
          topic,
          records,
          bytes,
          partitions: [...partitions].sort((a, b) => a - b),
          ms: systemClock.nowMs() - started,
        };
        // the summary goes to stderr on a terminal run, so stdout stays clean for pipes
        if (g().json) io.out(`${JSON.stringify(summary)}\n`);
        else
          io.err(
            `produced ${records} records (${bytes} bytes) to ${topic}, partitions ${summary.partitions.join(',') || '-'}, in ${summary.ms} ms\n`,
          );
      },
    );

  root
    .command('consume <topic>')
    .description('print records of a partition, one per line (value; --format json for all fields)')
    .option('--partition <p>', 'partition', positiveInt('--partition'), 0)
    .option('--from <where>', 'earliest, latest, an offset, or @<ISO time>', 'earliest')
    .option('-n, --max <n>', 'stop after this many records', positiveInt('--max'))
    .option('--follow', 'keep waiting for new records (Ctrl-C stops)')
    .addOption(
      new Option(
        '--format <format>',
        'text: values, one per line; json: every field; raw: the value bytes, nothing added',
      )
        .choices(['text', 'json', 'raw'])
        .default('text'),
    )
    .addOption(
      new Option('--encoding <encoding>', 'of keys and values in json').choices(['utf8', 'base64']).default('utf8'),
    )
    .option(
      '-t, --template <template>',
      "each record as kcat's -f does: %t topic, %p partition, %o offset, %k key, %s value, %T timestamp, %h headers, \\n, \\t",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  sluice consume orders --from earliest -n 10\n  sluice consume orders --partition 2 --follow --format json\n  sluice consume images --format raw -n 1 > first.png',
    )
    .action(
      async (
        topic: string,
        o: {
          partition: number;
          from: string;
          max?: number;
          follow?: boolean;
          format: string;
          encoding: 'utf8' | 'base64';
          template?: string;
        },
      ) => {
        const t = client().transport;
        const d = await t.describeTopic(topic);
        const bounds = d.offsets.find((x) => x.partition === o.partition);
        if (!bounds) throw new SluiceError('PARTITION_NOT_FOUND', `topic "${topic}" has no partition ${o.partition}`);
        let offset =
          o.from === 'earliest'
            ? bounds.startOffset
            : o.from === 'latest'
              ? bounds.highWatermark
              : /^\d+$/.test(o.from)
                ? Number(o.from)
                : o.from.startsWith('@')
                  ? ((await t.offsetForTimestamp(topic, o.partition, timeOf(o.from.slice(1)))) ?? bounds.highWatermark)
                  : Number.NaN;
        if (Number.isNaN(offset)) {
          throw new UsageError(`--from takes earliest, latest, an offset or @<ISO time>, not "${o.from}"`);
        }
        let printed = 0;
        const json = g().json || o.format === 'json';
        for (;;) {
          const left = o.max === undefined ? 1000 : Math.min(1000, o.max - printed);
          if (left <= 0) return;
          const r = await t.fetch({
            topic,
            partition: o.partition,
            offset,
            maxRecords: left,
            ...(o.follow ? { waitMs: 5000 } : {}),
          });
          for (const rec of r.records) {
            const value = Buffer.from(rec.value ?? []);
            if (json) {
              io.out(
                `${JSON.stringify({
                  partition: o.partition,
                  offset: rec.offset,
                  timestamp: rec.timestamp,
                  key: rec.key ? Buffer.from(rec.key).toString(o.encoding) : null,
                  value: rec.value === null ? null : value.toString(o.encoding),
                  ...(o.encoding === 'base64' ? { encoding: 'base64' } : {}),
                  headers: Object.fromEntries(
                    rec.headers.map(([k, v]) => [k, v === null ? null : Buffer.from(v).toString()]),
                  ),
                })}\n`,
              );
            } else if (o.template !== undefined) io.out(fill(o.template, topic, o.partition, rec));
            else io.out(o.format === 'raw' ? value : `${value.toString()}\n`);
            printed++;
          }
          offset = r.nextOffset;
          if (r.records.length === 0 && !o.follow) return;
        }
      },
    );

  const groups = root.command('groups').description('consumer groups: list, describe, reset offsets');
  groups.command('list').action(async () => {
    const names = await client().transport.listGroups();
    print(names, () => (names.length ? names.join('\n') : '(no groups)'));
  });
  groups
    .command('describe <group>')
    .description('members, and per partition the committed offset, high watermark, lag and owner')
    .action(async (group: string) => {
      const d = await client().transport.describeGroup(group);
      const live = d.members.filter((m) => m.live).length;
      const members = d.members.map((m) => `${m.memberId}${m.live ? '' : ' (gone)'}`).join(', ');
      print(d, () =>
        [
          `group ${d.group}: ${live} live member(s)${members ? ` (${members})` : ''}`,
          d.partitions.length
            ? table([
                ['TOPIC', 'PARTITION', 'COMMITTED', 'HIGH WATERMARK', 'LAG', 'OWNER'],
                ...d.partitions.map((p) => [
                  p.topic,
                  p.partition,
                  p.committedOffset ?? '-',
                  p.highWatermark,
                  p.lag,
                  p.owner ?? '-',
                ]),
              ])
            : '(no partitions)',
        ].join('\n'),
      );
    });
  groups
    .command('reset <group>')
    .description("move a group's committed offsets (a dry run unless --execute; the group must have no live members)")
    .requiredOption('--topic <topic>', 'the topic whose offsets move')
    .requiredOption('--to <where>', 'earliest, latest, an offset, or @<ISO time>')
    .option('--partition <p...>', 'only these partitions (default: all)')
    .option('--execute', 'apply it (default: show what it would do)')
    .addHelpText(
      'after',
      '\nExamples:\n  sluice groups reset billing --topic orders --to earliest\n  sluice groups reset billing --topic orders --to @2026-12-01T00:00:00Z --execute',
    )
    .action(async (group: string, o: { topic: string; to: string; partition?: string[]; execute?: boolean }) => {
      const to = resetTarget(o.to);
      const partitions = o.partition?.map((p) => positiveInt('--partition')(p));
      const r = await client().transport.resetOffsets(group, {
        topic: o.topic,
        to,
        ...(partitions ? { partitions } : {}),
        dryRun: !o.execute,
      });
      print(r, () =>
        [
          r.dryRun ? `dry run: ${group} would move to (run again with --execute to apply)` : `${group} moved to`,
          table([['PARTITION', 'OFFSET'], ...r.offsets.map((x) => [x.partition, x.offset])]),
        ].join('\n'),
      );
    });

  groups
    .command('delete <group>')
    .description('delete a group with nobody live in it: its committed offsets go too')
    .option('-y, --yes', 'do not ask')
    .action(async (group: string, o: { yes?: boolean }) => {
      if (!o.yes) throw new UsageError(`deleting "${group}" drops its committed offsets: run again with --yes`);
      await client().transport.deleteGroup(group);
      print({ group, deleted: true }, () => `deleted group ${group}`);
    });

  const subscriptions = root
    .command('subscriptions')
    .description('push subscriptions: list, describe, pause, resume, delete');
  subscriptions.command('list').action(async () => {
    const s = await client().transport.listSubscriptions();
    print(s, () =>
      s.length
        ? table([
            ['NAME', 'TOPICS', 'TARGET', 'ENABLED'],
            ...s.map((x) => [x.name, x.topics.join(','), targetOf(x.target), String(x.options.enabled)]),
          ])
        : '(no subscriptions)',
    );
  });
  subscriptions.command('describe <name>').action(async (name: string) => {
    const s = await client().transport.getSubscription(name);
    print(s, () => JSON.stringify(s, null, 2));
  });
  for (const [verb, enabled] of [
    ['pause', false],
    ['resume', true],
  ] as const) {
    subscriptions.command(`${verb} <name>`).action(async (name: string) => {
      await client().transport.updateSubscription(name, { options: { enabled } });
      print({ name, enabled }, () => `${enabled ? 'resumed' : 'paused'} subscription ${name}`);
    });
  }
  subscriptions
    .command('delete <name>')
    .option('-y, --yes', 'do not ask')
    .action(async (name: string, o: { yes?: boolean }) => {
      if (!o.yes) throw new UsageError(`deleting "${name}" drops its committed offsets: run again with --yes`);
      await client().transport.deleteSubscription(name);
      print({ name, deleted: true }, () => `deleted subscription ${name}`);
    });

  root
    .command('whoami')
    .description('who the server takes you for, and whether you administer it')
    .action(async () => {
      const t = client().transport;
      if (!(t instanceof HttpTransport)) throw new UsageError('whoami asks the HTTP API: give --url, not --direct');
      const me = await t.whoami();
      print(me, () => `${me.principal}${me.admin ? ' (admin)' : ''}; access: ${me.mode}`);
    });

  const quotas = root
    .command('quotas')
    .description('request quotas: each principal a pattern names, N requests a second');
  quotas.command('list').action(async () => {
    const q = await client().transport.listQuotas();
    print(q, () =>
      q.length
        ? table([['ID', 'PRINCIPAL', 'REQUESTS/S'], ...q.map((x) => [x.id, x.principal, x.requestsPerSecond])])
        : '(no quotas)',
    );
  });
  quotas
    .command('set <principal> <requestsPerSecond>')
    .description('set (or replace) the quota of a principal pattern')
    .action(async (principal: string, rps: string) => {
      const q = await client().transport.setQuota({
        principal,
        requestsPerSecond: positiveInt('requestsPerSecond')(rps),
      });
      print(q, () => `quota ${q.id}: ${q.principal} at most ${q.requestsPerSecond} requests per second`);
    });
  quotas.command('delete <id>').action(async (id: string) => {
    await client().transport.deleteQuota(id);
    print({ id, deleted: true }, () => `deleted quota ${id}`);
  });

  const acls = root.command('acls').description('the access rules (ACLs) of a deployment');
  acls.command('list').action(async () => {
    const a = await client().transport.listAcls();
    print(a, () =>
      a.length
        ? table([
            ['ID', 'EFFECT', 'PRINCIPAL', 'RESOURCE', 'OPERATIONS'],
            ...a.map((x) => [
              x.id,
              x.effect,
              x.principal,
              `${x.resourceType}:${x.resourceName}${x.pattern === 'prefixed' ? '*' : ''}`,
              x.operations.join(','),
            ]),
          ])
        : '(no ACL entries)',
    );
  });
  acls
    .command('create')
    .description('allow (or deny) a principal operations on a resource')
    .requiredOption(
      '--principal <arn>',
      'an IAM principal ARN (a role covers its sessions), a prefix ending in *, or *',
    )
    .addOption(new Option('--resource-type <type>').choices(Object.keys(OPERATIONS)).makeOptionMandatory())
    .requiredOption('--resource <name>', 'a name, a prefix (with --prefixed), or *')
    .requiredOption('--operations <ops>', 'comma-separated, or all')
    .option('--prefixed', 'the resource name is a prefix')
    .option('--deny', 'deny instead of allow')
    .addHelpText(
      'after',
      '\nExample:\n  sluice acls create --principal arn:aws:iam::123456789012:role/billing --resource-type topic --resource orders --operations consume',
    )
    .action(
      async (o: {
        principal: string;
        resourceType: keyof typeof OPERATIONS;
        resource: string;
        operations: string;
        prefixed?: boolean;
        deny?: boolean;
      }) => {
        const acl = await client().transport.createAcl({
          principal: o.principal,
          resourceType: o.resourceType,
          resourceName: o.resource,
          operations: o.operations.split(',').map((x) => x.trim()) as AclInput['operations'][number][],
          pattern: o.prefixed ? 'prefixed' : 'literal',
          effect: o.deny ? 'deny' : 'allow',
        });
        print(
          acl,
          () =>
            `ACL ${acl.id}: ${acl.effect} ${acl.principal} ${acl.operations.join(',')} on ${acl.resourceType} ${acl.resourceName}`,
        );
      },
    );
  acls.command('delete <id>').action(async (id: string) => {
    await client().transport.deleteAcl(id);
    print({ id, deleted: true }, () => `deleted ACL ${id}`);
  });
  return root;
}

/** Runs one command line; answers its exit code (never throws). */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const p = program(io);
  try {
    await p.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; a wrong command line exits 2 (commander printed why)
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (e instanceof UsageError) {
      io.err(`sluice: ${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof SluiceError) {
      io.err(`sluice: ${e.code}: ${e.message}\n`);
      return NOT_FOUND.includes(e.code) ? EXIT.notFound : EXIT.error;
    }
    io.err(`sluice: ${(e as Error).message ?? String(e)}\n`);
    return EXIT.error;
  }
}
