// Actor series, read from the router at scrape time: how many robot actors exist, how many are
// working, how much waits in their mailboxes, and the conflicts and failures they met.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { RouterStats } from '../actors/router.js';

export function registerActorMetrics(registry: Registry, router: { stats(): RouterStats }): void {
  const gauge = (name: string, help: string, read: (stats: RouterStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(router.stats()));
      },
    });
  };
  const counter = (name: string, help: string, read: (stats: RouterStats) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(router.stats()));
      },
    });
  };
  gauge('telemetry_actors', 'Robot actors in memory: one per robot that sent an event since start.', (s) => s.actors);
  gauge('telemetry_actors_busy', 'Robot actors with events not yet answered (waiting, or in the round being appended).', (s) => s.busyActors);
  gauge('telemetry_actor_mailbox_events', 'Events waiting in all actor mailboxes (not yet in a batch being appended).', (s) => s.queuedEvents);
  gauge('telemetry_actor_mailbox_max_events', 'Events waiting in the fullest actor mailbox.', (s) => s.maxMailboxDepth);
  counter('telemetry_actor_revision_conflicts_total', 'Appends refused because another writer appended to the stream first (the actor reloads and retries).', (s) => s.conflicts);
  counter('telemetry_actor_failures_total', 'Batches answered with an error because the log could not be read or written.', (s) => s.failures);
}
