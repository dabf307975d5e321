// Server-side $all filters (filter_option): on stream name or on event type, by regex or by
// prefixes (a non-empty regex wins, as in EventStoreDB), plus the checkpoint interval of a
// filtered subscription: checkpoint_interval_multiplier × the search window (`max`, or the
// server's read batch of 32 when the client asked for `count`).

import type { FilterOptions, ReadOptions } from './protocol.js';
import type { StoredEvent } from './state.js';

export interface EventFilter {
  matches(event: StoredEvent): boolean;
  /** Events scanned between two checkpoints of a subscription. */
  readonly checkpointInterval: number;
}

const DEFAULT_SEARCH_WINDOW = 32;

/** The request's filter, or undefined for `no_filter`. Throws on an invalid regex. */
export function filterOf(options: ReadOptions): EventFilter | undefined {
  if (!options.hasFilter()) return undefined;
  const filter = options.getFilter()!;
  const window = filter.hasMax() ? filter.getMax() : DEFAULT_SEARCH_WINDOW;
  const checkpointInterval = Math.max(1, filter.getCheckpointintervalmultiplier()) * Math.max(1, window);
  const test = expressionTest(filter);
  const onType = filter.hasEventType();
  return {
    matches: (event) => test(onType ? event.type : event.streamName),
    checkpointInterval,
  };
}

function expressionTest(filter: FilterOptions): (value: string) => boolean {
  const expression = filter.hasEventType() ? filter.getEventType() : filter.getStreamIdentifier();
  if (expression === undefined) return () => true;
  const regex = expression.getRegex();
  if (regex !== '') {
    const compiled = new RegExp(regex);
    return (value) => compiled.test(value);
  }
  const prefixes = expression.getPrefixList();
  if (prefixes.length === 0) return () => true;
  return (value) => prefixes.some((prefix) => value.startsWith(prefix));
}
