import { MemoryAccessStore } from '../../lib/storage/memory-access-store';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import { accessSuite } from '../support/access-suite';

accessSuite('in-memory fakes', async () => ({
  objects: new MemoryObjectStore(),
  metadata: new MemoryLogMetadataStore(),
  groups: new MemoryGroupStore(),
  access: new MemoryAccessStore(),
}));
