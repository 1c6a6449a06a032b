/**
 * `LogMetadataStore` on one DynamoDB table: one class per role, each in its own file
 * (dynamo-topic-catalog, dynamo-partition-log, dynamo-segment-files, dynamo-dedupe-state,
 * dynamo-log-trim, dynamo-job-state, over dynamo-table); this one only delegates.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDedupeState } from './dynamo-dedupe-state';
import { DynamoJobState } from './dynamo-job-state';
import { DynamoLogTrim } from './dynamo-log-trim';
import { DynamoPartitionLog } from './dynamo-partition-log';
import { DynamoSegmentFiles } from './dynamo-segment-files';
import { DynamoTopicCatalog } from './dynamo-topic-catalog';
import type {
  DedupeState,
  JobState,
  LogMetadataStore,
  LogTrim,
  PartitionLog,
  SegmentFiles,
  TopicCatalog,
} from './ports';

/** The whole metadata port over one table. */
export class DynamoLogMetadataStore implements LogMetadataStore {
  private readonly topicCatalog: DynamoTopicCatalog;
  private readonly partitionLog: DynamoPartitionLog;
  private readonly segmentFiles: DynamoSegmentFiles;
  private readonly dedupeState: DynamoDedupeState;
  private readonly logTrim: DynamoLogTrim;
  private readonly jobState: DynamoJobState;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.topicCatalog = new DynamoTopicCatalog(db, table);
    this.partitionLog = new DynamoPartitionLog(db, table);
    this.segmentFiles = new DynamoSegmentFiles(db, table);
    this.dedupeState = new DynamoDedupeState(db, table);
    this.logTrim = new DynamoLogTrim(db, table);
    this.jobState = new DynamoJobState(db, table);
  }

  createTopic(...a: Parameters<TopicCatalog['createTopic']>) {
    return this.topicCatalog.createTopic(...a);
  }

  getTopic(...a: Parameters<TopicCatalog['getTopic']>) {
    return this.topicCatalog.getTopic(...a);
  }

  listTopics(...a: Parameters<TopicCatalog['listTopics']>) {
    return this.topicCatalog.listTopics(...a);
  }

  setPartitionCount(...a: Parameters<TopicCatalog['setPartitionCount']>) {
    return this.topicCatalog.setPartitionCount(...a);
  }

  setRetention(...a: Parameters<TopicCatalog['setRetention']>) {
    return this.topicCatalog.setRetention(...a);
  }

  deleteTopic(...a: Parameters<TopicCatalog['deleteTopic']>) {
    return this.topicCatalog.deleteTopic(...a);
  }

  listDeletedTopics(...a: Parameters<TopicCatalog['listDeletedTopics']>) {
    return this.topicCatalog.listDeletedTopics(...a);
  }

  finishTopicPurge(...a: Parameters<TopicCatalog['finishTopicPurge']>) {
    return this.topicCatalog.finishTopicPurge(...a);
  }

  getHeads(...a: Parameters<PartitionLog['getHeads']>) {
    return this.partitionLog.getHeads(...a);
  }

  getShardHeads(...a: Parameters<PartitionLog['getShardHeads']>) {
    return this.partitionLog.getShardHeads(...a);
  }

  queryIndex(...a: Parameters<PartitionLog['queryIndex']>) {
    return this.partitionLog.queryIndex(...a);
  }

  cachedChunksOf(...a: Parameters<PartitionLog['cachedChunksOf']>) {
    return this.partitionLog.cachedChunksOf(...a);
  }

  readCalls(...a: Parameters<PartitionLog['readCalls']>) {
    return this.partitionLog.readCalls(...a);
  }

  commitAppend(...a: Parameters<PartitionLog['commitAppend']>) {
    return this.partitionLog.commitAppend(...a);
  }

  deleteHeads(...a: Parameters<PartitionLog['deleteHeads']>) {
    return this.partitionLog.deleteHeads(...a);
  }

  getSegmentFile(...a: Parameters<SegmentFiles['getSegmentFile']>) {
    return this.segmentFiles.getSegmentFile(...a);
  }

  getSegmentFiles(...a: Parameters<SegmentFiles['getSegmentFiles']>) {
    return this.segmentFiles.getSegmentFiles(...a);
  }

  fenceSegment(...a: Parameters<SegmentFiles['fenceSegment']>) {
    return this.segmentFiles.fenceSegment(...a);
  }

  existingCalls(...a: Parameters<SegmentFiles['existingCalls']>) {
    return this.segmentFiles.existingCalls(...a);
  }

  deleteSegmentFiles(...a: Parameters<SegmentFiles['deleteSegmentFiles']>) {
    return this.segmentFiles.deleteSegmentFiles(...a);
  }

  getIdempotency(...a: Parameters<DedupeState['getIdempotency']>) {
    return this.dedupeState.getIdempotency(...a);
  }

  getProducer(...a: Parameters<DedupeState['getProducer']>) {
    return this.dedupeState.getProducer(...a);
  }

  advanceStartOffsets(...a: Parameters<LogTrim['advanceStartOffsets']>) {
    return this.logTrim.advanceStartOffsets(...a);
  }

  releaseCalls(...a: Parameters<LogTrim['releaseCalls']>) {
    return this.logTrim.releaseCalls(...a);
  }

  readJobCursor(...a: Parameters<JobState['readJobCursor']>) {
    return this.jobState.readJobCursor(...a);
  }

  writeJobCursor(...a: Parameters<JobState['writeJobCursor']>) {
    return this.jobState.writeJobCursor(...a);
  }

  queueRelease(...a: Parameters<JobState['queueRelease']>) {
    return this.jobState.queueRelease(...a);
  }

  readReleases(...a: Parameters<JobState['readReleases']>) {
    return this.jobState.readReleases(...a);
  }

  deleteReleases(...a: Parameters<JobState['deleteReleases']>) {
    return this.jobState.deleteReleases(...a);
  }
}
