import { describe, expect, it } from 'vitest';
import { ConnectionReplies } from '../../src/ingest/frame-reply.js';

function connection() {
  const sent: string[] = [];
  const corks: number[] = [];
  let failing = false;
  const replies = new ConnectionReplies({
    send: (reply) => {
      if (failing) throw new Error('Invalid access of closed uWS.WebSocket');
      sent.push(reply);
    },
    cork: (sends) => {
      const before = sent.length;
      sends();
      corks.push(sent.length - before);
    },
  });
  return { replies, sent, corks, fail: () => (failing = true) };
}

/** Lets the replies of the current burst of settlements go out. */
const endOfBurst = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ConnectionReplies', () => {
  it('sends each frame once all its events settle, in arrival order', async () => {
    const { replies, sent } = connection();
    const first = replies.open();
    first.expect();
    first.expect();
    first.statuses[2] = 'ERR empty event';
    first.seal();
    const second = replies.open();
    second.expect();
    second.seal();
    second.settle(0, 'OK');
    await endOfBurst();
    expect(sent).toEqual([]); // the second frame waits for the first
    first.settle(1, 'STALE');
    await endOfBurst();
    expect(sent).toEqual([]);
    first.settle(0, 'OK');
    await endOfBurst();
    expect(sent).toEqual(['OK\nSTALE\nERR empty event', 'OK']);
    expect(replies.pending).toBe(0);
  });

  it('answers a frame with no outstanding events as soon as it is sealed', async () => {
    const { replies, sent } = connection();
    const frame = replies.open();
    frame.statuses[0] = 'ERR binary frames are not accepted; send text frames';
    frame.seal();
    await endOfBurst();
    expect(sent).toEqual(['ERR binary frames are not accepted; send text frames']);
  });

  it('sends the frames that complete in one burst together, in one cork', async () => {
    const { replies, sent, corks } = connection();
    const frames = Array.from({ length: 50 }, () => {
      const frame = replies.open();
      frame.expect();
      frame.seal();
      return frame;
    });
    frames.forEach((frame, i) => frame.settle(0, i % 2 === 0 ? 'OK' : 'DUP'));
    await endOfBurst();
    expect(sent).toEqual(frames.map((_, i) => (i % 2 === 0 ? 'OK' : 'DUP')));
    expect(corks).toEqual([50]);
  });

  it('sends nothing after close, and survives a send on a socket that just went away', async () => {
    const { replies, sent, fail } = connection();
    const a = replies.open();
    a.expect();
    a.seal();
    fail();
    expect(() => a.settle(0, 'OK')).not.toThrow();
    const b = replies.open();
    b.expect();
    b.seal();
    b.settle(0, 'OK');
    await endOfBurst();
    expect(sent).toEqual([]);
    replies.close();
    expect(replies.pending).toBe(0);
  });
});
