// Events answered, by outcome and ERR reason, as plain numbers: the ingest loop bumps a slot of a
// typed array per status line (no label lookup, no object), and the scrape turns slots into series.

import { DUP, errorReply, ERR_FORBIDDEN_ROBOT, ERR_SHUTTING_DOWN, ERR_UNAVAILABLE, OK, STALE } from '../domain/outcome.js';
import { REASON } from '../domain/wire-format.js';
import type { StatusTally } from '../ingest/frame-reply.js';

export type Outcome = 'ok' | 'dup' | 'stale' | 'err';

const ERR_PREFIX = 'ERR ';
const OK_SLOT = 0;
const DUP_SLOT = 1;
const STALE_SLOT = 2;
const FIRST_REASON_SLOT = 3;
/**
 * ERR reasons are a fixed set today, but one built from variable text (a defect) must not grow the
 * label set without bound: reasons beyond this many are counted under `other`.
 */
export const MAX_REASONS = 64;
export const OTHER_REASON = 'other';
const OTHER_SLOT = FIRST_REASON_SLOT + MAX_REASONS;

/** Reasons present (at zero) from the start, so a rate over them exists before the first one. */
const KNOWN_ERRORS: readonly string[] = [...Object.values(REASON).map(errorReply), ERR_UNAVAILABLE, ERR_SHUTTING_DOWN, ERR_FORBIDDEN_ROBOT];

export class OutcomeTally implements StatusTally {
  private readonly counts = new Float64Array(OTHER_SLOT + 1);
  /** Status line (`ERR <reason>`) → slot. */
  private readonly errorSlots = new Map<string, number>();
  /** Reason of slot FIRST_REASON_SLOT + i. */
  private readonly reasons: string[] = [];

  constructor(knownErrors: readonly string[] = KNOWN_ERRORS) {
    for (const status of knownErrors) this.errorSlot(status);
  }

  /** `n` status lines sent (or due to a closed connection): called per frame and status, so kept to compares. */
  count(status: string, n = 1): void {
    // Identity first: the actor and the frame handler hand out the shared constants.
    if (status === OK) this.counts[OK_SLOT]! += n;
    else if (status === DUP) this.counts[DUP_SLOT]! += n;
    else if (status === STALE) this.counts[STALE_SLOT]! += n;
    else this.counts[this.errorSlot(status)]! += n;
  }

  /** Every series, zero counts included; `reason` is null except for `err`. */
  forEach(visit: (outcome: Outcome, reason: string | null, count: number) => void): void {
    visit('ok', null, this.counts[OK_SLOT]!);
    visit('dup', null, this.counts[DUP_SLOT]!);
    visit('stale', null, this.counts[STALE_SLOT]!);
    for (let i = 0; i < this.reasons.length; i++) visit('err', this.reasons[i]!, this.counts[FIRST_REASON_SLOT + i]!);
    const other = this.counts[OTHER_SLOT]!;
    if (other > 0) visit('err', OTHER_REASON, other);
  }

  private errorSlot(status: string): number {
    const known = this.errorSlots.get(status);
    if (known !== undefined) return known;
    if (this.reasons.length === MAX_REASONS) return OTHER_SLOT;
    const slot = FIRST_REASON_SLOT + this.reasons.length;
    this.reasons.push(status.startsWith(ERR_PREFIX) ? status.slice(ERR_PREFIX.length) : status);
    this.errorSlots.set(status, slot);
    return slot;
  }
}
