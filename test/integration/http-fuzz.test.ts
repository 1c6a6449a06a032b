import { httpFuzzSuite } from '../support/http-fuzz-suite';
import { realStores } from '../support/real';

// every request reaches DynamoDB Local and LocalStack: fewer runs than on the fakes
httpFuzzSuite('DynamoDB Local + LocalStack S3', realStores, Number(process.env.SLUICE_FUZZ_RUNS ?? 60));
