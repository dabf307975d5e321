// The ingest benchmark's comparison peers speak the service's protocol: one reply per frame, one
// status per event, and — for the two that store — the service's OK / DUP / STALE rule and rows
// that are really there once the peer has stopped.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startPeer, type PeerName, type RunningPeer } from '../../bench/peers/start-peer.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { IngestClient } from '../support/ingest-client.js';
import { makeTempDir } from '../support/temp-dir.js';

const FIELDS_ERROR = 'ERR expected 4 comma-separated fields: x,y,timestamp,robot_name';

const clients: IngestClient[] = [];
const peers: RunningPeer[] = [];
const dirs: Array<{ remove(): void }> = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((client) => client.close()));
  const stopped = await Promise.allSettled(peers.splice(0).map((peer) => peer.stop()));
  for (const dir of dirs.splice(0)) dir.remove();
  for (const result of stopped) if (result.status === 'rejected') throw result.reason;
});

async function start(name: PeerName): Promise<{ peer: RunningPeer; client: IngestClient; dataDir: string }> {
  const dir = makeTempDir(`bench-peer-${name}-`);
  dirs.push(dir);
  const peer = await startPeer(name, { dataDir: dir.path });
  peers.push(peer);
  const client = await IngestClient.connect(peer.port);
  clients.push(client);
  return { peer, client, dataDir: dir.path };
}

/** Sends the frames that exercise OK, DUP (head and older) and STALE (same time, and older). */
async function exerciseStoringPeer(client: IngestClient): Promise<void> {
  expect(await client.send('1,1,1,A\n2,2,2,A\nbad')).toBe(`OK\nOK\n${FIELDS_ERROR}`);
  expect(await client.send('2,2,2,A')).toBe('DUP'); // a resend of the head
  expect(await client.send('1,1,1,A')).toBe('DUP'); // a resend of an older event
  expect(await client.send('0,0,0,A')).toBe('STALE'); // older than the head, never stored
  expect(await client.send('9,9,2,A')).toBe('STALE'); // the head's time, another place
  expect(await client.send('3,3,3,A\n4,4,4,B\n3,3,3,A')).toBe('OK\nOK\nDUP');
  await client.close();
}

describe.each(['limit', 'ws-peer', 'seed-style'] as const)('%s peer', (name) => {
  it('answers each frame with one status per line, in order', async () => {
    const { client } = await start(name);
    expect(await client.send('1,1,1,A\n2,2,2,A\nbad')).toBe(`OK\nOK\n${FIELDS_ERROR}`);
    const replies = await Promise.all([client.send('5,5,5,C'), client.send('x,1,6,C\n'), client.send('6,6,7,C\n7,7,8,C')]);
    expect(replies).toEqual(['OK', 'ERR x must be a finite decimal number', 'OK\nOK']);
    expect(await client.send('1,1,1,A', { binary: true })).toBe('ERR binary frames are not accepted; send text frames');
  });

  it('closes open connections with 1001 and exits 0 on SIGTERM', async () => {
    const { peer, client } = await start(name);
    expect(await client.send('1,1,1,A')).toBe('OK');
    await peer.stop();
    expect((await client.closed).code).toBe(1001);
  });
});

describe('ws-peer', () => {
  it('answers OK, DUP and STALE like the service and stores the accepted events in its log', async () => {
    const { peer, client, dataDir } = await start('ws-peer');
    await exerciseStoringPeer(client);
    await peer.stop();

    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
    try {
      const a = await log.readStream('A', 0n, 100);
      const b = await log.readStream('B', 0n, 100);
      expect(Array.from(a?.events ?? [])).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3]);
      expect(Array.from(b?.events ?? [])).toEqual([4, 4, 4]);
      expect((await log.listStreams()).sort()).toEqual(['A', 'B']);
    } finally {
      await log.close();
    }
  });
});

describe('seed-style', () => {
  it('answers OK, DUP and STALE like the service and stores one row per accepted event', async () => {
    const { peer, client, dataDir } = await start('seed-style');
    await exerciseStoringPeer(client);
    await peer.stop();

    const db = new Database(join(dataDir, 'seed-style.sqlite'), { readonly: true });
    try {
      expect(db.prepare('SELECT robot, x, y, ts FROM events ORDER BY id').all()).toEqual([
        { robot: 'A', x: 1, y: 1, ts: 1 },
        { robot: 'A', x: 2, y: 2, ts: 2 },
        { robot: 'A', x: 3, y: 3, ts: 3 },
        { robot: 'B', x: 4, y: 4, ts: 4 },
      ]);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });
});
