// How robot actors batch and retry, as the service runs them.

import type { ActorSettings } from './robot-actor.js';

export const DEFAULT_ACTOR_SETTINGS: ActorSettings = Object.freeze({
  /** Most events decided and appended as one batch (and so the largest append of one robot). */
  maxBatch: 4096,
  /** Conflicts tolerated for one batch before its events are answered `ERR conflict, retry`. */
  maxConflictRetries: 16,
  /** Events waiting for one robot (TELEMETRY_MAX_MAILBOX_EVENTS): past it, `ERR busy`, not a longer queue. */
  maxMailbox: 65_536,
});
