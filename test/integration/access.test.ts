import { accessSuite } from '../support/access-suite';
import { realStores } from '../support/real';

accessSuite('LocalStack S3 + DynamoDB Local', realStores);
