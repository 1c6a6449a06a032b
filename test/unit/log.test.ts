import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';
import { logSuite } from '../support/log-suite';

logSuite('in-memory fakes', async () => ({ objects: new MemoryObjectStore(), metadata: new MemoryLogMetadataStore() }));
