// The LIMIT for the ingest benchmark: the service's uWebSockets.js endpoint and its real line
// reader (numbers read in place, robot names interned), and nothing behind them — each frame is parsed and answered at once (`OK` per valid line,
// `ERR <reason>` otherwise), no actors, no store. The parse-and-discard ceiling on this machine.
//
//   node --import tsx bench/peers/limit-server.ts --port 0

import { errorReply, OK } from '../../src/domain/outcome.js';
import { EventReader } from '../../src/domain/robot-names.js';
import { forEachLineAt } from '../../src/domain/wire-format.js';
import { runPeer } from './peer-process.js';
import { peerLogger } from './service-settings.js';
import { serveFramesWithUws } from './uws-frames.js';

const reader = new EventReader();
const statuses: string[] = [];
let frame = '';

// Module-level, so the loop allocates no closure per frame.
function parseLine(start: number, end: number, slot: number): void {
  const reason = reader.read(frame, start, end);
  statuses[slot] = reason === null ? OK : errorReply(reason);
}

function answer(text: string): string {
  frame = text;
  statuses.length = forEachLineAt(text, parseLine);
  return statuses.join('\n');
}

runPeer('limit', ({ port }) => serveFramesWithUws(port, answer, peerLogger('limit')));
