// The data tools' command-line plumbing: flag parsing and its messages, and the progress line
// (redrawn on a terminal, throttled plain lines otherwise) on a simulated clock.

import { describe, expect, it } from 'vitest';
import { integerFlag, parseArgs, positiveNumberFlag, UsageError } from '../../src/tools/args.js';
import { describeProgress, formatDuration, ProgressLine } from '../../src/tools/progress.js';

const spec = { values: ['rate', 'out', 'seed'], switches: ['json'] };

describe('parseArgs', () => {
  it('takes --flag value, --flag=value, switches, positionals, - and negative numbers', () => {
    const args = parseArgs(['a.csv', '--rate', '10', '--out=x y.csv', '--json', '--seed', '-5', '-'], spec);
    expect([...args.values]).toEqual([
      ['rate', '10'],
      ['out', 'x y.csv'],
      ['seed', '-5'],
    ]);
    expect([...args.switches]).toEqual(['json']);
    expect(args.positional).toEqual(['a.csv', '-']);
    expect(parseArgs(['--', '--json'], spec).positional).toEqual(['--json']);
  });

  it('names the flag in every mistake', () => {
    const fails = (argv: string[]) => () => parseArgs(argv, spec);
    expect(fails(['--colour'])).toThrow(new UsageError('unknown flag --colour'));
    expect(fails(['-x'])).toThrow(new UsageError('unknown flag -x'));
    expect(fails(['--rate'])).toThrow(new UsageError('--rate needs a value'));
    expect(fails(['--rate', '--json'])).toThrow(new UsageError('--rate needs a value'));
    expect(fails(['--json=1'])).toThrow(new UsageError('--json takes no value'));
    expect(fails(['--rate', '1', '--rate=2'])).toThrow(new UsageError('--rate given twice'));
  });

  it('checks numbers with the range in the message', () => {
    const args = parseArgs(['--seed', '1.5', '--rate', '2.5e3'], spec);
    expect(() => integerFlag(args, 'seed', 1, 0, 10)).toThrow('--seed must be an integer from 0 to 10, got "1.5"');
    expect(integerFlag(args, 'out', 7, 0, 10)).toBe(7);
    expect(positiveNumberFlag(args, 'rate')).toBe(2500);
    expect(positiveNumberFlag(args, 'out')).toBeUndefined();
    expect(() => positiveNumberFlag(parseArgs(['--rate', '-1'], spec), 'rate')).toThrow('--rate must be a positive number, got "-1"');
    expect(() => positiveNumberFlag(parseArgs(['--rate', 'Infinity'], spec), 'rate')).toThrow(UsageError);
  });
});

describe('ProgressLine', () => {
  function sink(isTTY: boolean) {
    const written: string[] = [];
    return { written, out: { isTTY, write: (text: string) => written.push(text) } };
  }

  it('redraws in place on a terminal and ends the line once', () => {
    let now = 0;
    const { written, out } = sink(true);
    const progress = new ProgressLine(out, { now: () => now, ttyIntervalMs: 100 });
    expect(progress.due()).toBe(false);
    now = 100;
    expect(progress.due()).toBe(true);
    progress.show('10 events');
    expect(progress.due()).toBe(false);
    progress.finish();
    progress.finish();
    expect(written).toEqual(['\r10 events\x1b[K', '\n']);
  });

  it('writes plain lines, less often, when not a terminal', () => {
    let now = 0;
    const { written, out } = sink(false);
    const progress = new ProgressLine(out, { now: () => now, plainIntervalMs: 2000 });
    now = 1999;
    expect(progress.due()).toBe(false);
    now = 2000;
    expect(progress.due()).toBe(true);
    progress.show('a');
    progress.finish();
    expect(written).toEqual(['a\n']);
  });

  it('describes rate, percent and ETA, and no percent for an unknown total', () => {
    expect(describeProgress(250_000, 0.25, 5000)).toBe('250,000 events  25.0%  50,000 events/s  ETA 15s');
    expect(describeProgress(1000, undefined, 2000)).toBe('1,000 events  500 events/s');
    expect(describeProgress(0, 0, 0)).toBe('0 events  0.0%  0 events/s  ETA ?');
    expect([0.04, 9.9, 42, 185, 7620].map(formatDuration)).toEqual(['0.0s', '9.9s', '42s', '3m05s', '2h07m']);
  });
});
