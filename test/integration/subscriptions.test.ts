import { realStores } from '../support/real';
import { subscriptionSuite } from '../support/subscription-suite';

subscriptionSuite('LocalStack S3 + DynamoDB Local', realStores);
