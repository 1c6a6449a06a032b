import { groupSuite } from '../support/group-suite';
import { realStores } from '../support/real';

groupSuite('LocalStack S3 + DynamoDB Local', realStores);
