// The interned robot-name table and the in-place event reader built on it: a name is found by its
// characters wherever it lies in a frame, never confused with another, bounded in size; and the
// reader answers every line exactly as parseEventLine does.

import { describe, expect, it } from 'vitest';
import { EventReader, RobotNames } from '../../src/domain/robot-names.js';
import { newParsedEvent, parseEventLine, REASON } from '../../src/domain/wire-format.js';
import { mulberry32, randomInt } from '../../bench/lib/random.js';

describe('RobotNames', () => {
  it('finds an added name inside any text, as the very string added', () => {
    const names = new RobotNames();
    const name = ['robot', '-', '7'].join(''); // built, so not a literal the engine shares
    expect(names.find('1,2,3,robot-7', 6, 13)).toBeUndefined();
    names.add(name);
    expect(names.find('1,2,3,robot-7', 6, 13)).toBe(name);
    expect(names.find('x robot-7 y', 2, 9)).toBe(name);
    for (const [text, start, end] of [
      ['robot-77', 0, 8],
      ['robot-', 0, 6],
      ['Robot-7', 0, 7],
      ['obot-7', 0, 6],
      ['robot-7', 1, 7],
      ['', 0, 0],
    ] as const) {
      expect(names.find(text, start, end), `${text}[${start}, ${end})`).toBeUndefined();
    }
  });

  it('keeps 50,000 names apart through its growth, near-misses included (seeded)', () => {
    const random = mulberry32(7);
    const names = new RobotNames();
    const added: string[] = [];
    const ALPHABET = 'ab7 éロ🤖';
    for (let i = 0; i < 50_000; i++) {
      let name = `${i}`;
      for (let k = randomInt(random, 0, 6); k > 0; k--) name += ALPHABET[randomInt(random, 0, ALPHABET.length - 1)];
      added.push(name);
      names.add(name);
    }
    expect(names.size).toBe(50_000);
    for (const name of added) {
      expect(names.find(`>${name}<`, 1, 1 + name.length)).toBe(name);
      expect(names.find(`${name}x`, 0, name.length + 1)).toBeUndefined();
    }
  });

  it('stops adding at its bound, and finds only what it holds', () => {
    const names = new RobotNames(3);
    for (const name of ['a', 'b', 'c', 'd']) names.add(name);
    expect(names.size).toBe(3);
    expect(names.find('c', 0, 1)).toBe('c');
    expect(names.find('d', 0, 1)).toBeUndefined();
  });
});

describe('EventReader', () => {
  it('rejects a bad name every time, never remembering it', () => {
    const reader = new EventReader();
    expect(reader.read('1,2,3, a', 0, 8)).toBe(REASON.nameWhitespace);
    expect(reader.read('1,2,3, a', 0, 8)).toBe(REASON.nameWhitespace);
    expect(reader.read('1,2,3,a', 0, 7)).toBeNull();
    expect(reader.robot).toBe('a');
  });

  it('reads names beyond its table bound all the same, each checked', () => {
    const reader = new EventReader(1);
    for (const line of ['1,2,3,a', '1,2,3,b', '1,2,3,b', '1,2,3,..']) {
      const expected = newParsedEvent();
      const reason = parseEventLine(line, expected);
      expect(reader.read(line, 0, line.length), line).toBe(reason);
      if (reason === null) expect(reader.robot).toBe(expected.robot);
    }
  });

  it('answers 20,000 random lines of a small fleet exactly as parseEventLine does (seeded)', () => {
    const random = mulberry32(99);
    const reader = new EventReader(16); // smaller than the fleet: found, added and past the bound
    const NAMES = ['r1', 'r2', 'robot 3', 'ロボ', '🤖', ' r', 'r\u0001', '.', '..', 'a,b', '', 'x'.repeat(151), 'r1\r'];
    for (let i = 0; i < 40; i++) NAMES.push(`bot-${i}`);
    const expected = newParsedEvent();
    for (let i = 0; i < 20_000; i++) {
      const name = NAMES[randomInt(random, 0, NAMES.length - 1)]!;
      const x = random() < 0.05 ? 'NaN' : String((random() - 0.5) * 1000);
      const line = `${x},${randomInt(random, -5, 5)},${randomInt(random, 0, 1e6)},${name}`;
      const text = `0,0,0,r1\n${line}\n`;
      const reason = reader.read(text, 9, 9 + line.length);
      expect(reason, line).toBe(parseEventLine(line, expected));
      if (reason === null) {
        expect([...reader.fields.event, reader.robot], line).toEqual([
          expected.x,
          expected.y,
          expected.timestamp,
          expected.robot,
        ]);
      }
    }
  });
});
