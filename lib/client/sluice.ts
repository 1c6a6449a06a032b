/**
 * `new Sluice(options)`: the entry point of the TypeScript client, one interface over two
 * transports.
 *
 * ```ts
 * // direct: S3 + DynamoDB with your AWS credentials (fastest, cheapest)
 * const sluice = new Sluice({ direct: { bucket: 'my-bucket', table: 'my-table' } });
 * // http: the deployed API, SigV4-signed with your credentials
 * const sluice = new Sluice({ http: { url: 'https://….lambda-url.us-east-1.on.aws', region: 'us-east-1' } });
 * // http: the local dev server (`npm start`), unsigned
 * const sluice = new Sluice({ http: { url: 'http://127.0.0.1:8787' } });
 *
 * const producer = sluice.producer({ lingerMs: 5 });
 * await producer.send({ topic: 'orders', messages: [{ key: 'customer-9', value: '{"total":42}' }] });
 * ```
 */
import type { Clock } from '../clock';
import { createSluice } from '../compose';
import type { GroupSettings } from '../groups/settings';
import type { RandomSource } from '../ids';
import type { LogSettings } from '../settings';
import { type AwsStoresOptions, createAwsStores, createSigV4Signer } from '../storage/aws';
import type { GroupStore, LogMetadataStore, ObjectStore } from '../storage/ports';
import { Admin } from './admin';
import { Consumer, type ConsumerOptions } from './consumer';
import { Producer, type ProducerOptions } from './producer';
import { DirectTransport, HttpTransport, type Transport } from './transport';

/** How the client reaches Sluice. */
export type SluiceOptions = (
  | {
      readonly direct: AwsStoresOptions & {
        readonly settings?: Partial<LogSettings>;
        readonly groupSettings?: Partial<GroupSettings>;
      };
    }
  | {
      readonly stores: { objects: ObjectStore; metadata: LogMetadataStore; groups?: GroupStore };
      readonly settings?: Partial<LogSettings>;
      readonly groupSettings?: Partial<GroupSettings>;
    }
  | {
      readonly http: {
        readonly url: string;
        /** Sign requests with SigV4 for this region (omit for the unsigned local server). */
        readonly region?: string;
        /** `lambda` (Function URL) or `execute-api` (API Gateway). @default 'lambda' */
        readonly service?: string;
        readonly credentials?: AwsStoresOptions['credentials'];
        /** Sent with every request: `{ 'x-sluice-principal': arn }` names the caller to `npm start` in ACL mode. */
        readonly headers?: Readonly<Record<string, string>>;
      };
    }
  | { readonly transport: Transport }
) & { readonly clock?: Clock; readonly random?: RandomSource };

/** The client: producers and admin over one transport. */
export class Sluice {
  readonly transport: Transport;

  constructor(private readonly options: SluiceOptions) {
    const deps = {
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.random ? { random: options.random } : {}),
    };
    if ('transport' in options) this.transport = options.transport;
    else if ('http' in options) {
      const { url, region, service, credentials, headers } = options.http;
      this.transport = new HttpTransport(
        url,
        region
          ? createSigV4Signer({ region, ...(service ? { service } : {}), ...(credentials ? { credentials } : {}) })
          : undefined,
        options.clock,
        headers,
      );
    } else {
      const { stores, settings, groupSettings } =
        'stores' in options
          ? { stores: options.stores, settings: options.settings, groupSettings: options.groupSettings }
          : {
              stores: createAwsStores(options.direct),
              settings: options.direct.settings,
              groupSettings: options.direct.groupSettings,
            };
      this.transport = new DirectTransport(
        createSluice(
          { ...stores, ...deps },
          { ...(settings ? { log: settings } : {}), ...(groupSettings ? { groups: groupSettings } : {}) },
        ),
      );
    }
  }

  /** A batching producer; see `ProducerOptions`. */
  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this.transport, options, this.options.clock, this.options.random);
  }

  /** A group consumer; see `ConsumerOptions`. Dead letters go through an internal producer. */
  consumer(options: ConsumerOptions): Consumer {
    const deadLetters = options.deadLetterTopic ? this.producer({ lingerMs: 0 }) : undefined;
    return new Consumer(this.transport, options, deadLetters, this.options.clock);
  }

  /** Topic and offset administration. */
  admin(): Admin {
    return new Admin(this.transport);
  }
}
