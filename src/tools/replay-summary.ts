// What `npm run replay` prints at the end, as text for people or JSON (`--json`) for scripts, and
// the exit code that goes with it.

import type { FrameStats } from './frames.js';
import { formatCount, formatDuration } from './progress.js';
import type { ReplyTally } from './reply-tally.js';
import type { ReplaySessionResult } from './replay-session.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

export interface ReplaySummary {
  readonly source: string;
  readonly url: string;
  readonly seconds: number;
  readonly events_sent: number;
  readonly frames_sent: number;
  readonly events_per_s: number;
  readonly ok: number;
  readonly dup: number;
  readonly stale: number;
  readonly err: number;
  readonly errors: ReadonlyArray<{ reason: string; count: number; first_line: number }>;
  readonly unanswered: number;
  readonly blank_lines: number;
  readonly interrupted: boolean;
  readonly failure: string | null;
  readonly exit_code: number;
}

export function summarize(
  source: string,
  url: string,
  seconds: number,
  tally: ReplyTally,
  stats: FrameStats,
  session: ReplaySessionResult,
): ReplaySummary {
  const unanswered = session.unanswered.reduce((sum, frame) => sum + frame.events, 0);
  const exitCode = session.interrupted
    ? EXIT_INTERRUPTED
    : session.failure !== null || tally.err > 0 || unanswered > 0
      ? EXIT_FAILED
      : EXIT_OK;
  return {
    source,
    url,
    seconds,
    events_sent: session.eventsSent,
    frames_sent: session.framesSent,
    events_per_s: seconds > 0 ? tally.answeredEvents / seconds : 0,
    ok: tally.ok,
    dup: tally.dup,
    stale: tally.stale,
    err: tally.err,
    errors: [...tally.errors.values()]
      .sort((a, b) => b.count - a.count || a.firstLine - b.firstLine)
      .map((e) => ({ reason: e.reason, count: e.count, first_line: e.firstLine })),
    unanswered,
    blank_lines: stats.blankLines,
    interrupted: session.interrupted,
    failure: session.failure,
    exit_code: exitCode,
  };
}

export function formatSummary(s: ReplaySummary): string {
  const width = Math.max(...[s.ok, s.dup, s.stale, s.err].map((n) => formatCount(n).length));
  const row = (label: string, n: number) => `  ${label.padEnd(6)}${formatCount(n).padStart(width)}`;
  const lines = [
    `replayed ${s.source} to ${s.url}: ${formatCount(s.events_sent)} events in ${formatCount(s.frames_sent)} frames, ` +
      `${formatDuration(s.seconds)}, ${formatCount(s.events_per_s)} events/s`,
    row('OK', s.ok),
    row('DUP', s.dup),
    row('STALE', s.stale),
    row('ERR', s.err),
  ];
  for (const e of s.errors) lines.push(`    ${formatCount(e.count).padStart(width)}  ${e.reason}  (first at line ${e.first_line})`);
  if (s.unanswered > 0) lines.push(`  not answered: ${formatCount(s.unanswered)} events (their frames were sent; they may or may not be stored)`);
  if (s.blank_lines > 0) lines.push(`  blank lines skipped: ${formatCount(s.blank_lines)}`);
  if (s.interrupted) lines.push('interrupted: the rest of the input was not sent');
  if (s.failure !== null) lines.push(`failed: ${s.failure}`);
  return `${lines.join('\n')}\n`;
}
