/**
 * The composition root: every entry point (the Lambda handlers, `npm start`, the direct-mode
 * client, the tests) builds Sluice here, from its storage ports and settings, and nowhere
 * else — so the log, the group operations and the maintenance job always share one clock,
 * one randomness source and one set of validated settings.
 */
import { type AccessSettings, Authorizer } from './access/authorizer';
import { type Clock, systemClock } from './clock';
import type { GroupDeps } from './groups/coordinator';
import { type GroupSettings, resolveGroupSettings } from './groups/settings';
import { type RandomSource, systemRandom } from './ids';
import { SluiceLog } from './log/log';
import type { MaintenanceDeps } from './retention/job';
import type { LogSettings } from './settings';
import type { AccessStore, GroupStore, LogMetadataStore, ObjectStore } from './storage/ports';

/** What Sluice is built from: the storage ports, and (for tests) time and randomness. */
export interface SluiceComponents {
  readonly objects: ObjectStore;
  readonly metadata: LogMetadataStore;
  /** Consumer groups need it; without it the group operations are absent. */
  readonly groups?: GroupStore;
  /** The ACL entries; without it only `open` access (or none) can be configured. */
  readonly access?: AccessStore;
  /** @default the system clock */
  readonly clock?: Clock;
  /** @default the OS's cryptographic randomness */
  readonly random?: RandomSource;
}

/** Settings of each part, validated once here. */
export interface SluiceSettings {
  readonly log?: Partial<LogSettings>;
  readonly groups?: Partial<GroupSettings>;
  /** How requests are authorized. @default open (every caller may do everything) */
  readonly access?: AccessSettings;
}

/** Sluice, assembled: what the entry points call. */
export interface SluiceCore {
  readonly log: SluiceLog;
  /** The group operations' dependencies (absent without a group store). */
  readonly groups?: GroupDeps;
  /** What the maintenance job runs with. */
  readonly maintenance: MaintenanceDeps;
  /** Decides what each principal may do (ARCHITECTURE §12). */
  readonly authorizer: Authorizer;
  /** The ACL entries (absent without an access store). */
  readonly access?: AccessStore;
  readonly clock: Clock;
  readonly random: RandomSource;
}

/** Builds the log, the group operations and the maintenance job over one set of components. */
export function createSluice(components: SluiceComponents, settings: SluiceSettings = {}): SluiceCore {
  const clock = components.clock ?? systemClock;
  const random = components.random ?? systemRandom;
  const log = new SluiceLog({
    objects: components.objects,
    metadata: components.metadata,
    clock,
    random,
    ...(settings.log ? { settings: settings.log } : {}),
  });
  const groupSettings = resolveGroupSettings(settings.groups);
  return {
    log,
    ...(components.groups
      ? { groups: { groups: components.groups, log, clock, random, settings: groupSettings } }
      : {}),
    maintenance: {
      objects: components.objects,
      metadata: components.metadata,
      ...(components.groups ? { groups: components.groups } : {}),
      clock,
      random,
    },
    authorizer: new Authorizer(settings.access ?? { mode: 'open' }, components.access, clock),
    ...(components.access ? { access: components.access } : {}),
    clock,
    random,
  };
}
