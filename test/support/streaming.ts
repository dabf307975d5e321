// Steady ingest for fault tests: clients stream frames until stopped, remembering every event
// answered OK; afterwards the log is read back over REST, following `Link: rel="next"`.

import { getJson } from './in-process-service.js';
import type { IngestClient } from './ingest-client.js';

export interface Stream {
  /** Timestamps answered OK, per robot. */
  readonly acknowledged: Map<string, number[]>;
  /** Statuses seen, by status line. */
  readonly tally: Map<string, number>;
  readonly frames: number;
  stop(): Promise<void>;
}

/**
 * Streams frames of `perFrame` events over `robots` until stopped or the socket goes away.
 * Timestamps start after `from` and rise by one per event, so a restart can continue past them.
 */
export function streamUntilStopped(client: IngestClient, robots: readonly string[], perFrame: number, from = 0): Stream {
  const acknowledged = new Map<string, number[]>(robots.map((r) => [r, []]));
  const tally = new Map<string, number>();
  let stopped = false;
  let frames = 0;
  const loop = (async () => {
    let t = 0;
    while (!stopped) {
      const lines: string[] = [];
      const sent: Array<[string, number]> = [];
      for (let k = 0; k < perFrame; k++) {
        const robot = robots[(t + k) % robots.length]!;
        const ts = from + t * perFrame + k + 1;
        lines.push(`${ts % 97},${ts % 89},${ts},${robot}`);
        sent.push([robot, ts]);
      }
      t++;
      let statuses: string[];
      try {
        statuses = await client.sendEvents(lines);
      } catch {
        return; // the server went away mid-frame: that frame was not acknowledged
      }
      frames++;
      statuses.forEach((status, i) => {
        tally.set(status, (tally.get(status) ?? 0) + 1);
        if (status === 'OK') acknowledged.get(sent[i]![0])!.push(sent[i]![1]);
      });
    }
  })();
  return {
    acknowledged,
    tally,
    get frames() {
      return frames;
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Every stored timestamp of `robot`, in log order. */
export async function storedTimestamps(http: string, robot: string): Promise<number[]> {
  const all: number[] = [];
  let url: string | null = `${http}/api/robots/${encodeURIComponent(robot)}/events?limit=100000`;
  while (url !== null) {
    const page = await getJson(url);
    all.push(...(page.body as Array<{ timestamp: number }>).map((e) => e.timestamp));
    const link = page.headers.get('link');
    url = link === null ? null : `${http}${/^<([^>]+)>/.exec(link)![1]}`;
  }
  return all;
}

/** Resolves once `check()` holds; checks every few milliseconds, fails after `ms`. */
export function until(check: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 5);
  });
}
