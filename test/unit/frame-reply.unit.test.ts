import { describe, expect, it } from 'vitest';
import { ConnectionReplies } from '../../src/ingest/frame-reply.js';

function connection() {
  const sent: string[] = [];
  let failing = false;
  const replies = new ConnectionReplies({
    send: (reply) => {
      if (failing) throw new Error('Invalid access of closed uWS.WebSocket');
      sent.push(reply);
    },
  });
  return { replies, sent, fail: () => (failing = true) };
}

describe('ConnectionReplies', () => {
  it('sends each frame once all its events settle, in arrival order', () => {
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
    expect(sent).toEqual([]); // the second frame waits for the first
    first.settle(1, 'STALE');
    expect(sent).toEqual([]);
    first.settle(0, 'OK');
    expect(sent).toEqual(['OK\nSTALE\nERR empty event', 'OK']);
    expect(replies.pending).toBe(0);
  });

  it('answers a frame with no outstanding events as soon as it is sealed', () => {
    const { replies, sent } = connection();
    const frame = replies.open();
    frame.statuses[0] = 'ERR binary frames are not accepted; send text frames';
    frame.seal();
    expect(sent).toEqual(['ERR binary frames are not accepted; send text frames']);
  });

  it('sends nothing after close, and survives a send on a socket that just went away', () => {
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
    expect(sent).toEqual([]);
    replies.close();
    expect(replies.pending).toBe(0);
  });
});
