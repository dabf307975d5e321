import { describe, expect, it } from 'vitest';
import { ConnectionReplies } from '../../src/ingest/frame-reply.js';
import { OutcomeTally, type Outcome } from '../../src/metrics/outcome-tally.js';

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
    first.answer(2, 'ERR empty event');
    first.seal(3);
    const second = replies.open();
    second.expect();
    second.seal(1);
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
    frame.answer(0, 'ERR binary frames are not accepted; send text frames');
    frame.seal(1);
    await endOfBurst();
    expect(sent).toEqual(['ERR binary frames are not accepted; send text frames']);
  });

  it('sends the frames that complete in one burst together, in one cork', async () => {
    const { replies, sent, corks } = connection();
    const frames = Array.from({ length: 50 }, () => {
      const frame = replies.open();
      frame.expect();
      frame.seal(1);
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
    a.seal(1);
    fail();
    expect(() => a.settle(0, 'OK')).not.toThrow();
    const b = replies.open();
    b.expect();
    b.seal(1);
    b.settle(0, 'OK');
    await endOfBurst();
    expect(sent).toEqual([]);
    replies.close();
    expect(replies.pending).toBe(0);
  });

  it('answers every line in order whichever order the lines settle in, OK or not, and counts each once', async () => {
    const tally = new OutcomeTally();
    const sent: string[] = [];
    const replies = new ConnectionReplies({ send: (reply) => void sent.push(reply) }, tally);
    const statuses = Array.from({ length: 100 }, (_, i) => (i % 17 === 3 ? 'DUP' : i % 29 === 5 ? 'ERR busy, retry' : 'OK'));
    const mixed = replies.open();
    const allOk = replies.open();
    for (const frame of [mixed, allOk]) for (let i = 0; i < 100; i++) frame.expect();
    mixed.seal(100);
    allOk.seal(100);
    const order = Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
    for (const i of order) {
      mixed.settle(i, statuses[i]!);
      allOk.settle(i, 'OK');
    }
    await endOfBurst();
    expect(sent).toEqual([statuses.join('\n'), Array(100).fill('OK').join('\n')]);
    const counts = new Map<string, number>();
    tally.forEach((outcome: Outcome, reason, count) => count > 0 && counts.set(reason ?? outcome, count));
    const expected = new Map<string, number>();
    for (const status of [...statuses, ...Array<string>(100).fill('OK')]) {
      const key = status === 'OK' ? 'ok' : status === 'DUP' ? 'dup' : status.slice(4);
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    expect(counts).toEqual(expected);
  });

  it('answers an empty frame with an empty reply', async () => {
    const { replies, sent } = connection();
    replies.open().seal(0);
    await endOfBurst();
    expect(sent).toEqual(['']);
  });
});
