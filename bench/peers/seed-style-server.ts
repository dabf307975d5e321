// THE ORIGINAL'S DESIGN, for the ingest benchmark: one durable commit per event, as the original
// Flask + MySQL system stored one row and committed once per event. Same uWebSockets.js ingest and
// parser as the limit, so only the storage design differs from the service's.
//
// Stores in <data-dir>/seed-style.sqlite (WAL, synchronous=FULL): a table of events indexed on
// (robot, ts). Per event: the robot's latest event decides OK / DUP / STALE like the service
// (an older timestamp is looked up to tell a resend from a stale event); an accepted event is
// inserted and committed in its own transaction. A frame is answered once all its events are done.
//
//   node --import tsx bench/peers/seed-style-server.ts --port 0 --data-dir DIR

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DUP, errorReply, OK, STALE } from '../../src/domain/outcome.js';
import { EventReader } from '../../src/domain/robot-names.js';
import { forEachLineAt } from '../../src/domain/wire-format.js';
import { requireDataDir, runPeer } from './peer-process.js';
import { peerLogger } from './service-settings.js';
import { serveFramesWithUws } from './uws-frames.js';

const SEED_STYLE_FILE = 'seed-style.sqlite';

interface StoredEvent {
  x: number;
  y: number;
  ts: number;
}

function openStore(dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, SEED_STYLE_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, robot TEXT, x REAL, y REAL, ts INTEGER);
    CREATE INDEX IF NOT EXISTS events_robot_ts ON events (robot, ts);
  `);
  const latest = db.prepare<[string], StoredEvent>('SELECT x, y, ts FROM events WHERE robot = ? ORDER BY ts DESC LIMIT 1');
  const at = db.prepare<[string, number], StoredEvent>('SELECT x, y, ts FROM events WHERE robot = ? AND ts = ? LIMIT 1');
  const insert = db.prepare<[string, number, number, number]>('INSERT INTO events (robot, x, y, ts) VALUES (?, ?, ?, ?)');
  // One BEGIN IMMEDIATE … COMMIT (one fsync) per event.
  const insertOne = db.transaction((robot: string, x: number, y: number, ts: number) => void insert.run(robot, x, y, ts)).immediate;

  return {
    store(robot: string, x: number, y: number, ts: number): string {
      const head = latest.get(robot);
      if (head === undefined || ts > head.ts) {
        insertOne(robot, x, y, ts);
        return OK;
      }
      const stored = ts === head.ts ? head : at.get(robot, ts);
      return stored !== undefined && stored.x === x && stored.y === y ? DUP : STALE;
    },
    close: () => db.close(),
  };
}

runPeer('seed-style', async (options) => {
  const store = openStore(requireDataDir('seed-style', options));
  const reader = new EventReader();
  const { fields } = reader;
  const statuses: string[] = [];
  const answer = (text: string): string => {
    statuses.length = forEachLineAt(text, (start, end, slot) => {
      const reason = reader.read(text, start, end);
      statuses[slot] = reason === null ? store.store(reader.robot, fields.event[0]!, fields.event[1]!, fields.event[2]!) : errorReply(reason);
    });
    return statuses.join('\n');
  };
  try {
    const ingest = await serveFramesWithUws(options.port, answer, peerLogger('seed-style'));
    return {
      port: ingest.port,
      close: async () => {
        await ingest.close();
        store.close();
      },
    };
  } catch (error) {
    store.close();
    throw error;
  }
});
