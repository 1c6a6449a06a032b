import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import { retentionSuite } from '../support/retention-suite';

retentionSuite('in-memory fakes', async () => ({
  objects: new MemoryObjectStore(),
  metadata: new MemoryLogMetadataStore(),
  groups: new MemoryGroupStore(),
}));
