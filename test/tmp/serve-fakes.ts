import { createSluice } from '../../lib/compose';
import { createHttpApp } from '../../lib/http/app';
import { serveHttpApp } from '../../lib/http/node-server';
import { MemoryGroupStore } from '../../lib/storage/memory-group-store';
import { MemoryLogMetadataStore } from '../../lib/storage/memory-log-metadata-store';
import { MemoryObjectStore } from '../../lib/storage/memory-object-store';

const s = await serveHttpApp(
  createHttpApp(
    createSluice({
      objects: new MemoryObjectStore(),
      metadata: new MemoryLogMetadataStore(),
      groups: new MemoryGroupStore(),
    }),
    { onUnexpectedError: (u) => console.error('UNEXPECTED', u.route, (u.error as Error).stack) },
  ),
  Number(process.env.PORT ?? 0),
);
console.log(s.url);
