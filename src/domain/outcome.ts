// What the service answers for each event, and the decision rule behind it.

export const OK = 'OK';
/** Already stored with the same position: a resend after a lost reply. Acknowledged, not stored again. */
export const DUP = 'DUP';
/** Not after the robot's latest event and not a duplicate: dropped, as the original system did. */
export const STALE = 'STALE';

export function errorReply(reason: string): string {
  return `ERR ${reason}`;
}

export const ERR_UNAVAILABLE = errorReply('unavailable');
export const ERR_SHUTTING_DOWN = errorReply('shutting down');
/** The connection's token may not write this robot's stream: nothing stored for the event. */
export const ERR_FORBIDDEN_ROBOT = errorReply('forbidden robot');
/** The robot's mailbox is full (TELEMETRY_MAX_MAILBOX_EVENTS): not queued, not stored; resend later. */
export const ERR_BUSY = errorReply('busy');
/** The connection sent faster than TELEMETRY_MAX_EVENTS_PER_SECOND allows: not stored; resend later. */
export const ERR_RATE_LIMITED = errorReply('rate limited');
