import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { realStores } from '../support/real';
import { retentionSuite } from '../support/retention-suite';

retentionSuite('LocalStack S3 + DynamoDB Local', async () => {
  const s = await realStores();
  return {
    ...s,
    // test-only full scan: proves no item of a deleted topic is left behind
    itemsMentioning: async (topicId: string) => {
      const r = await s.dynamo.send(new ScanCommand({ TableName: s.table }));
      return (r.Items ?? []).filter((i) => JSON.stringify(i).includes(topicId)).length;
    },
  };
});
