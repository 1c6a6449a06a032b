import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import { httpFuzzSuite } from '../support/http-fuzz-suite';

httpFuzzSuite(
  'in-memory fakes',
  async () => ({
    objects: new MemoryObjectStore(),
    metadata: new MemoryLogMetadataStore(),
    groups: new MemoryGroupStore(),
  }),
  Number(process.env.SLUICE_FUZZ_RUNS ?? 300),
);
