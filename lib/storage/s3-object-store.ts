import {
  DeleteObjectsCommand,
  type DeleteObjectsCommandOutput,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { InternalError } from '../errors';
import { awsErrorName, translateAwsError } from './aws-errors';
import type { DeletedObject, ObjectHistory, ObjectInfo, ObjectStore } from './ports';

/**
 * `ObjectStore` on Amazon S3 (or any S3 API: LocalStack, S3 Express One Zone), and the
 * `ObjectHistory` of a versioned bucket (restoring deleted segments).
 */
export class S3ObjectStore implements ObjectStore, ObjectHistory {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /**
   * PUT with `If-None-Match: *`. S3 answers 412 when the key exists; for Sluice's unique
   * keys that can only be our own earlier attempt (the SDK retried after a lost response).
   */
  async putIfAbsent(key: string, bytes: Uint8Array): Promise<'created' | 'exists'> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: bytes,
          IfNoneMatch: '*',
          ContentType: 'application/vnd.sluice.segment',
        }),
      );
      return 'created';
    } catch (e) {
      if (awsErrorName(e) === 'PreconditionFailed' || statusOf(e) === 412) return 'exists';
      throw translateAwsError(e, `PUT s3://${this.bucket}/${key}`);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array | undefined> {
    return this.read(key, `bytes=${start}-${end - 1}`);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.read(key, undefined);
  }

  private async read(key: string, range: string | undefined): Promise<Uint8Array | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range }));
      if (!res.Body) throw new InternalError(`GET s3://${this.bucket}/${key} returned no body`);
      return await res.Body.transformToByteArray();
    } catch (e) {
      if (e instanceof InternalError) throw e;
      if (awsErrorName(e) === 'NoSuchKey' || statusOf(e) === 404) return undefined;
      throw translateAwsError(e, `GET s3://${this.bucket}/${key} ${range ?? ''}`);
    }
  }

  async list(
    prefix: string,
    options: { startAfter?: string; limit?: number } = {},
  ): Promise<{ objects: ObjectInfo[]; nextStartAfter?: string }> {
    try {
      const res = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          StartAfter: options.startAfter,
          MaxKeys: options.limit ?? 1000,
        }),
      );
      const objects = (res.Contents ?? []).map((o) => ({ key: o.Key as string, size: o.Size ?? 0 }));
      const last = objects[objects.length - 1];
      return res.IsTruncated && last ? { objects, nextStartAfter: last.key } : { objects };
    } catch (e) {
      throw translateAwsError(e, `LIST s3://${this.bucket}/${prefix}`);
    }
  }

  /** One page of ListObjectVersions: the delete markers that are their key's latest version, made since `sinceMs`. */
  async deletedSince(
    prefix: string,
    sinceMs: number,
    options: { after?: { key: string; versionId: string }; limit?: number } = {},
  ): Promise<{ deleted: DeletedObject[]; next?: { key: string; versionId: string } }> {
    try {
      const res = await this.s3.send(
        new ListObjectVersionsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          MaxKeys: options.limit ?? 1000,
          ...(options.after ? { KeyMarker: options.after.key, VersionIdMarker: options.after.versionId } : {}),
        }),
      );
      const deleted = (res.DeleteMarkers ?? [])
        .filter((m) => m.IsLatest && m.Key && m.VersionId && (m.LastModified?.getTime() ?? 0) >= sinceMs)
        .map((m) => ({
          key: m.Key as string,
          deletedMs: (m.LastModified as Date).getTime(),
          markerVersionId: m.VersionId as string,
        }));
      return res.IsTruncated && res.NextKeyMarker
        ? { deleted, next: { key: res.NextKeyMarker, versionId: res.NextVersionIdMarker ?? '' } }
        : { deleted };
    } catch (e) {
      throw translateAwsError(e, `LIST versions s3://${this.bucket}/${prefix}`);
    }
  }

  async undelete(objects: readonly DeletedObject[]): Promise<void> {
    await this.deleteVersions(objects.map((o) => ({ Key: o.key, VersionId: o.markerVersionId })));
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    await this.deleteVersions(keys.map((Key) => ({ Key })));
  }

  /** DeleteObjects 1,000 at a time; a missing key is not an error. */
  private async deleteVersions(objects: readonly { Key: string; VersionId?: string }[]): Promise<void> {
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      let res: DeleteObjectsCommandOutput;
      try {
        res = await this.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: [...batch], Quiet: true },
          }),
        );
      } catch (e) {
        throw translateAwsError(e, `DELETE ${batch.length} objects from s3://${this.bucket}`);
      }
      const failed = (res.Errors ?? []).filter((err) => err.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw translateAwsError(
          Object.assign(new Error(`${failed.length} deletes failed, first: ${failed[0]?.Key} ${failed[0]?.Code}`), {
            name: failed[0]?.Code ?? 'InternalError',
            $metadata: { httpStatusCode: 500 },
          }),
          `DELETE objects from s3://${this.bucket}`,
        );
      }
    }
  }
}

function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}
