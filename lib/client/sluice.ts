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
import type { RandomSource } from '../ids';
import { SluiceLog } from '../log/log';
import type { LogSettings } from '../settings';
import { type AwsStoresOptions, createAwsStores, createSigV4Signer } from '../storage/aws';
import type { LogMetadataStore, ObjectStore } from '../storage/ports';
import { Admin } from './admin';
import { Producer, type ProducerOptions } from './producer';
import { DirectTransport, HttpTransport, type Transport } from './transport';

/** How the client reaches Sluice. */
export type SluiceOptions = (
  | { readonly direct: AwsStoresOptions & { readonly settings?: Partial<LogSettings> } }
  | { readonly stores: { objects: ObjectStore; metadata: LogMetadataStore }; readonly settings?: Partial<LogSettings> }
  | {
      readonly http: {
        readonly url: string;
        /** Sign requests with SigV4 for this region (omit for the unsigned local server). */
        readonly region?: string;
        /** `lambda` (Function URL) or `execute-api` (API Gateway). @default 'lambda' */
        readonly service?: string;
        readonly credentials?: AwsStoresOptions['credentials'];
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
      const { url, region, service, credentials } = options.http;
      this.transport = new HttpTransport(
        url,
        region
          ? createSigV4Signer({ region, ...(service ? { service } : {}), ...(credentials ? { credentials } : {}) })
          : undefined,
      );
    } else if ('stores' in options) {
      this.transport = new DirectTransport(
        new SluiceLog({ ...options.stores, ...deps, ...(options.settings ? { settings: options.settings } : {}) }),
      );
    } else {
      const { settings, ...aws } = options.direct;
      this.transport = new DirectTransport(
        new SluiceLog({ ...createAwsStores(aws), ...deps, ...(settings ? { settings } : {}) }),
      );
    }
  }

  /** A batching producer; see `ProducerOptions`. */
  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this.transport, options, this.options.clock, this.options.random);
  }

  /** Topic and offset administration. */
  admin(): Admin {
    return new Admin(this.transport);
  }
}
