// The ingest wire format `x,y,timestamp,robot_name`: what is accepted, what is rejected and with
// which reason (the reason is what the robot sees after `ERR `), and how frames split into lines.

import { describe, expect, it } from 'vitest';
import { MAX_ROBOT_NAME_LENGTH, MAX_TIMESTAMP } from '../../src/domain/location.js';
import { forEachLine, newParsedEvent, newParsedFields, parseEventLine, parseFields, REASON, robotNameError } from '../../src/domain/wire-format.js';
import { mulberry32, randomInt } from '../../bench/lib/random.js';

function parse(line: string): { reason: string | null; x: number; y: number; timestamp: number; robot: string } {
  const out = newParsedEvent();
  const reason = parseEventLine(line, out);
  return { reason, ...out };
}

function lines(frame: string): { count: number; seen: Array<[string, number]> } {
  const seen: Array<[string, number]> = [];
  const count = forEachLine(frame, (line, index) => seen.push([line, index]));
  return { count, seen };
}

describe('parseEventLine: accepted lines', () => {
  it.each([
    ['1,2,3,robot', 1, 2, 3, 'robot'],
    ['-1,-2,3,robot', -1, -2, 3, 'robot'],
    ['-1.25,0.5,3,robot', -1.25, 0.5, 3, 'robot'],
    ['1e3,-2.5E-1,3,robot', 1000, -0.25, 3, 'robot'],
    ['1e+3,2E-0,3,robot', 1000, 2, 3, 'robot'],
    ['0,0,0,robot', 0, 0, 0, 'robot'],
    [`1,2,${MAX_TIMESTAMP},robot`, 1, 2, 9007199254740991, 'robot'],
    ['1,2,007,robot', 1, 2, 7, 'robot'],
    ['1,2,3,Robôt 7', 1, 2, 3, 'Robôt 7'],
    ['1,2,3,robot 🤖 one', 1, 2, 3, 'robot 🤖 one'],
    ['1,2,3,🤖', 1, 2, 3, '🤖'],
    ['1,2,3,ロボット', 1, 2, 3, 'ロボット'],
  ])('%j', (line, x, y, timestamp, robot) => {
    expect(parse(line)).toEqual({ reason: null, x, y, timestamp, robot });
  });

  it('accepts the largest timestamp, 2^53 - 1, exactly', () => {
    expect(MAX_TIMESTAMP).toBe(9007199254740991);
    const result = parse('0,0,9007199254740991,r');
    expect(result.reason).toBeNull();
    expect(result.timestamp).toBe(9007199254740991);
  });

  it('tolerates one trailing \\r and leaves it out of the name', () => {
    expect(parse('1,2,3,robot\r')).toEqual({ reason: null, x: 1, y: 2, timestamp: 3, robot: 'robot' });
    expect(parse('1,2,3,Robôt 7\r').robot).toBe('Robôt 7');
  });

  it('accepts a name of exactly 150 code points, astral characters counted once', () => {
    const bmp = 'a'.repeat(MAX_ROBOT_NAME_LENGTH);
    expect(parse(`1,2,3,${bmp}`)).toMatchObject({ reason: null, robot: bmp });

    const astral = 'a'.repeat(100) + '😀'.repeat(50);
    expect(astral.length).toBe(200); // UTF-16 units, above the limit
    expect([...astral].length).toBe(150);
    expect(parse(`1,2,3,${astral}`)).toMatchObject({ reason: null, robot: astral });

    const allAstral = '𝒜'.repeat(150);
    expect(parse(`1,2,3,${allAstral}`)).toMatchObject({ reason: null, robot: allAstral });
  });

  it('reuses the caller-owned scratch record across lines', () => {
    const out = newParsedEvent();
    expect(parseEventLine('1,2,3,a', out)).toBeNull();
    expect(parseEventLine('4,5,6,b', out)).toBeNull();
    expect(out).toEqual({ x: 4, y: 5, timestamp: 6, robot: 'b' });
  });
});

describe('parseEventLine: rejected lines and their reasons', () => {
  it.each([
    ['', REASON.empty],
    ['\r', REASON.empty],
    ['robot', REASON.fields],
    ['1,2,3', REASON.fields],
    ['1,2', REASON.fields],
    ['1,2,3\r', REASON.fields],
    [',,,', REASON.x],
  ])('structure %j → %s', (line, reason) => {
    expect(parse(line).reason).toBe(reason);
  });

  it.each(['NaN', 'Infinity', '-Infinity', '+1', '0x10', ' 1', '1 ', '1.', '.5', '1e999', '-1e999', '', '1e', '--1', '1_000', '１'])(
    'number %j → x reason as x, y reason as y',
    (bad) => {
      expect(parse(`${bad},2,3,robot`).reason).toBe(REASON.x);
      expect(parse(`1,${bad},3,robot`).reason).toBe(REASON.y);
    },
  );

  it.each(['-1', '1.5', '1e3', '9007199254740992', '99999999999999999', '12345678901234567', '', ' 1', '+1', '0x10', 'NaN'])(
    'timestamp %j → timestamp reason',
    (bad) => {
      expect(parse(`1,2,${bad},robot`).reason).toBe(REASON.timestamp);
    },
  );

  it('limits the timestamp to 16 digits even when leading zeros keep the value small', () => {
    expect(parse('1,2,0000000000000001,robot')).toMatchObject({ reason: null, timestamp: 1 });
    expect(parse('1,2,00000000000000001,robot').reason).toBe(REASON.timestamp);
  });

  it('states the exact timestamp rule', () => {
    expect(REASON.timestamp).toBe('timestamp must be an integer from 0 to 9007199254740991');
  });

  it('rejects an empty name', () => {
    expect(parse('1,2,3,').reason).toBe(REASON.nameLength);
    expect(parse('1,2,3,\r').reason).toBe(REASON.nameLength);
  });

  it('rejects a name of 151 code points', () => {
    expect(parse(`1,2,3,${'a'.repeat(151)}`).reason).toBe(REASON.nameLength);
    expect(parse(`1,2,3,${'a'.repeat(101)}${'😀'.repeat(50)}`).reason).toBe(REASON.nameLength);
    expect(parse(`1,2,3,${'𝒜'.repeat(151)}`).reason).toBe(REASON.nameLength);
    expect(REASON.nameLength).toBe('robot_name must be 1 to 150 characters');
  });

  it.each(['\u0000', '\u001f', '\u007f', '\u0085', '\u009f', '\r', '\u001b'])('rejects a name containing the control character %j', (control) => {
    expect(parse(`1,2,3,ro${control}bot`).reason).toBe(REASON.nameControl);
  });

  it.each([' robot', 'robot ', '\u00a0robot', 'robot\u00a0', '\u2003robot', 'robot\u3000'])(
    'rejects leading or trailing whitespace in %j',
    (name) => {
      expect(parse(`1,2,3,${name}`).reason).toBe(REASON.nameWhitespace);
    },
  );

  it('rejects a leading or trailing tab (a control character, checked first)', () => {
    expect(parse('1,2,3,\trobot').reason).toBe(REASON.nameControl);
    expect(parse('1,2,3,robot\t').reason).toBe(REASON.nameControl);
  });

  it('rejects a name containing a comma (a fifth field)', () => {
    expect(parse('1,2,3,ro,bot').reason).toBe(REASON.nameComma);
    expect(parse('1,2,3,robot,').reason).toBe(REASON.nameComma);
  });

  it('does not write into the scratch record when a line is rejected', () => {
    const out = newParsedEvent();
    expect(parseEventLine('1,2,3,a', out)).toBeNull();
    expect(parseEventLine('9,9,9,', out)).toBe(REASON.nameLength);
    expect(out).toEqual({ x: 1, y: 2, timestamp: 3, robot: 'a' });
  });
});

describe('robotNameError', () => {
  it('returns null for valid names', () => {
    for (const name of ['a', 'Robôt 7', '🤖', 'a b', 'a'.repeat(150), '😀'.repeat(150)]) {
      expect(robotNameError(name)).toBeNull();
    }
  });

  it('gives the same reasons as the line parser', () => {
    expect(robotNameError('')).toBe(REASON.nameLength);
    expect(robotNameError('a'.repeat(151))).toBe(REASON.nameLength);
    expect(robotNameError('a,b')).toBe(REASON.nameComma);
    expect(robotNameError('a\u0000b')).toBe(REASON.nameControl);
    expect(robotNameError(' a')).toBe(REASON.nameWhitespace);
    expect(robotNameError('a\u00a0')).toBe(REASON.nameWhitespace);
    expect(robotNameError('.')).toBe(REASON.nameDots);
    expect(robotNameError('..')).toBe(REASON.nameDots);
    expect(robotNameError('...')).toBeNull();
    expect(robotNameError('.a')).toBeNull();
  });
});

describe('forEachLine', () => {
  it.each([
    ['a', ['a']],
    ['a\n', ['a']],
    ['', ['']],
    ['\n', ['']],
    ['a\n\nb', ['a', '', 'b']],
    ['a\n\n', ['a', '']],
    ['a\nb', ['a', 'b']],
    ['a\nb\n', ['a', 'b']],
    ['\n\n', ['', '']],
    ['a\r\nb\r\n', ['a\r', 'b\r']],
  ])('%j', (frame, expected) => {
    const { count, seen } = lines(frame);
    expect(count).toBe(expected.length);
    expect(seen).toEqual(expected.map((line, index) => [line, index]));
  });

  it('visits many lines with indices in order', () => {
    const frame = Array.from({ length: 1000 }, (_, i) => `${i},0,${i},r`).join('\n');
    const { count, seen } = lines(frame);
    expect(count).toBe(1000);
    seen.forEach(([line, index], i) => {
      expect(index).toBe(i);
      expect(line).toBe(`${i},0,${i},r`);
    });
  });
});

describe('format → parse round trip (seeded)', () => {
  const NAME_CHARS = ['a', 'Z', '7', '-', '_', '.', 'ô', 'é', 'ß', 'ロ', '中', '🤖', '😀', '𝒜', ' '];
  const EDGE_CHARS = NAME_CHARS.filter((c) => c !== ' ');

  function randomNumber(random: () => number): number {
    const sign = random() < 0.5 ? -1 : 1;
    switch (randomInt(random, 0, 4)) {
      case 0:
        return sign * randomInt(random, 1, 1_000_000);
      case 1:
        return sign * random() * 1000;
      case 2:
        return sign * random() * 10 ** randomInt(random, -300, 300);
      case 3:
        return 0;
      default:
        return sign * (random() + 1e-9) * 1e-7;
    }
  }

  function randomName(random: () => number): string {
    const length = randomInt(random, 1, MAX_ROBOT_NAME_LENGTH);
    const chars: string[] = [];
    for (let i = 0; i < length; i++) {
      const pool = i === 0 || i === length - 1 ? EDGE_CHARS : NAME_CHARS;
      chars.push(pool[randomInt(random, 0, pool.length - 1)]!);
    }
    return chars.join('');
  }

  it('gives back the same x, y, timestamp and name for 2,000 random events', () => {
    const random = mulberry32(0x5eed);
    const out = newParsedEvent();
    for (let i = 0; i < 2000; i++) {
      const x = randomNumber(random);
      const y = randomNumber(random);
      const t = randomInt(random, 0, MAX_TIMESTAMP);
      const name = randomName(random);
      const line = `${x},${y},${t},${name}`;
      const reason = parseEventLine(i % 2 === 0 ? line : `${line}\r`, out);
      expect(reason, line).toBeNull();
      expect(out.x, line).toBe(x);
      expect(out.y, line).toBe(y);
      expect(out.timestamp, line).toBe(t);
      expect(out.robot, line).toBe(name);
    }
  });
});

describe('parseFields against the regular-expression rule it replaced (seeded)', () => {
  // The reading of numbers as first written: a regular expression, then Number().
  const DECIMAL = /^-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
  const DIGITS = /^[0-9]{1,16}$/;
  function reference(line: string): { reason: string | null; x?: number; y?: number; timestamp?: number; name?: string } {
    const end = line.endsWith('\r') ? line.length - 1 : line.length;
    if (end === 0) return { reason: REASON.empty };
    const fields = line.slice(0, end).split(',');
    if (fields.length < 4) return { reason: REASON.fields };
    const decimal = (text: string): number => (DECIMAL.test(text) && Number.isFinite(Number(text)) ? Number(text) : NaN);
    const x = decimal(fields[0]!);
    if (Number.isNaN(x)) return { reason: REASON.x };
    const y = decimal(fields[1]!);
    if (Number.isNaN(y)) return { reason: REASON.y };
    if (!DIGITS.test(fields[2]!) || Number(fields[2]) > MAX_TIMESTAMP) return { reason: REASON.timestamp };
    return { reason: null, x, y, timestamp: Number(fields[2]), name: fields.slice(3).join(',') };
  }

  const PIECES = ['0', '1', '7', '9', '00', '-', '.', 'e', 'E', '+', '-', '5', '123456789', '9007199254740993', ' ', 'x', '١', '\u00a0'];
  function randomNumberText(random: () => number): string {
    switch (randomInt(random, 0, 3)) {
      case 0: // well formed, any number of digits
        return `${random() < 0.3 ? '-' : ''}${randomDigits(random)}${random() < 0.6 ? `.${randomDigits(random)}` : ''}${random() < 0.2 ? `e${['', '+', '-'][randomInt(random, 0, 2)]}${randomInt(random, 0, 400)}` : ''}`;
      case 1: // what a float prints as
        return String((random() - 0.5) * 10 ** randomInt(random, -30, 30));
      default: {
        let text = '';
        for (let k = randomInt(random, 0, 5); k > 0; k--) text += PIECES[randomInt(random, 0, PIECES.length - 1)];
        return text;
      }
    }
  }
  function randomDigits(random: () => number): string {
    let text = '';
    for (let k = randomInt(random, 1, 24); k > 0; k--) text += String(randomInt(random, 0, 9));
    return text;
  }

  it('reads the same numbers, to the bit, and refuses the same lines for the same reasons on 20,000 lines', () => {
    const random = mulberry32(0xdec1);
    const fields = newParsedFields();
    for (let i = 0; i < 20_000; i++) {
      const t = random() < 0.8 ? String(randomInt(random, 0, MAX_TIMESTAMP)) : randomNumberText(random);
      const line = `${randomNumberText(random)},${randomNumberText(random)},${t},robot${random() < 0.1 ? '\r' : ''}`;
      const padded = `pad\n${line}\nafter`;
      const reason = parseFields(padded, 4, 4 + line.length, fields);
      const expected = reference(line);
      expect(reason, line).toBe(expected.reason);
      if (reason === null) {
        const [x, y, timestamp] = fields.event;
        expect(Object.is(x, expected.x), `${line}: x ${x} vs ${expected.x}`).toBe(true);
        expect(Object.is(y, expected.y), `${line}: y ${y} vs ${expected.y}`).toBe(true);
        expect(timestamp, line).toBe(expected.timestamp);
        expect(padded.slice(fields.nameStart, fields.nameEnd), line).toBe(expected.name);
      }
    }
  });
});
