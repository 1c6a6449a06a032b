import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import { subscriptionSuite } from '../support/subscription-suite';

subscriptionSuite('in-memory fakes', async () => ({
  objects: new MemoryObjectStore(),
  metadata: new MemoryLogMetadataStore(),
  groups: new MemoryGroupStore(),
}));
