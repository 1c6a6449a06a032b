import { logSuite } from '../support/log-suite';
import { realStores } from '../support/real';

logSuite('LocalStack S3 + DynamoDB Local', realStores);
