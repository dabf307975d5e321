// EventStoreDB $all positions ↔ our LogPosition.
//
// An event's place in $all is the pair (commit, prepare), ordered by commit then prepare; events of
// one multi-event append can share a commit position. Keeping only the commit position would make a
// resume point ambiguous inside such an append, so both travel, packed into one bigint whose numeric
// order is the pair's order: commit in the high 64 bits, prepare in the low 64.

import type { Position } from '@eventstore/db-client';
import type { LogPosition } from '../event-log.js';

const LOW_BITS = 64n;
const LOW_MASK = (1n << LOW_BITS) - 1n;

export function toLogPosition(position: Position): LogPosition {
  return (position.commit << LOW_BITS) | (position.prepare & LOW_MASK);
}

export function fromLogPosition(position: LogPosition): Position {
  return { commit: position >> LOW_BITS, prepare: position & LOW_MASK };
}
