// `npm run generate`: writes plausible fleet tracks in the wire format, one event per line, to a
// file or stdout. Streams in chunks and waits for the output to drain, so a billion events take no
// more memory than a thousand. Exit codes: 0 written, 1 the output failed, 2 bad flags.

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { integerFlag, parseArgs, UsageError } from './args.js';
import { describeProgress, formatCount, formatDuration, ProgressLine } from './progress.js';
import { DEFAULT_START_TIME, FleetTracks, fleetOptionsError } from './tracks.js';

const USAGE = `usage: npm run generate -- [--robots N] [--events N] [--seed N] [--start-time MS] [--out FILE] [--quiet]

  --robots N       robots in the fleet (default 1000)
  --events N       events in all, at least one per robot (default 1000000)
  --seed N         PRNG seed; the same seed writes a byte-identical file (default 1)
  --start-time MS  first report time, ms since the epoch (default ${DEFAULT_START_TIME}, 2026-01-01)
  --out FILE       write here instead of stdout ('-' is stdout)
  --quiet          no progress and no summary on stderr`;

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Events per write: ~40 bytes each, so ~80 KB chunks, several per default high-water mark. */
const CHUNK_EVENTS = 2048;

interface GenerateOptions {
  robots: number;
  events: number;
  seed: number;
  startTime: number;
  out: string | undefined;
  quiet: boolean;
}

function options(argv: readonly string[]): GenerateOptions | 'help' {
  const args = parseArgs(argv, { values: ['robots', 'events', 'seed', 'start-time', 'out'], switches: ['quiet', 'help'] });
  if (args.switches.has('help')) return 'help';
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"`);
  const out = args.values.get('out');
  if (out === '') throw new UsageError('--out needs a file name');
  const chosen: GenerateOptions = {
    robots: integerFlag(args, 'robots', 1000, 1, 1_000_000),
    events: integerFlag(args, 'events', 1_000_000, 1, Number.MAX_SAFE_INTEGER),
    seed: integerFlag(args, 'seed', 1, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    startTime: integerFlag(args, 'start-time', DEFAULT_START_TIME, 0, Number.MAX_SAFE_INTEGER),
    out: out === '-' ? undefined : out,
    quiet: args.switches.has('quiet'),
  };
  const problem = fleetOptionsError(chosen);
  if (problem !== null) throw new UsageError(problem);
  return chosen;
}

async function openOutput(path: string | undefined): Promise<Writable> {
  if (path === undefined) return process.stdout;
  const file = createWriteStream(path);
  await once(file, 'open'); // rejects with the 'error' (ENOENT, EACCES…) before anything is generated
  return file;
}

async function generate(chosen: GenerateOptions, out: Writable): Promise<void> {
  const tracks = new FleetTracks(chosen);
  const started = performance.now();
  // A terminal that shows the data itself gets no progress line drawn over it.
  const showProgress = !chosen.quiet && !(chosen.out === undefined && process.stdout.isTTY === true);
  const progress = new ProgressLine(process.stderr);
  function* chunks(): Generator<string> {
    while (!tracks.done) {
      yield tracks.nextChunk(CHUNK_EVENTS);
      if (showProgress && progress.due()) {
        progress.show(describeProgress(tracks.emitted, tracks.emitted / chosen.events, performance.now() - started));
      }
    }
  }
  // pipeline pulls a chunk only when the output has room, and fails on any output error or early
  // close. stdout is not ended: the process may still write to it, and Node flushes it at exit.
  try {
    await pipeline(Readable.from(chunks()), out, { end: out !== process.stdout });
  } finally {
    progress.finish();
  }
  if (!chosen.quiet) {
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(
      `generated ${formatCount(chosen.events)} events for ${formatCount(chosen.robots)} robots (seed ${chosen.seed}) ` +
        `to ${chosen.out ?? 'stdout'} in ${formatDuration(seconds)}\n`,
    );
  }
}

async function main(): Promise<void> {
  let chosen: GenerateOptions | 'help';
  let out: Writable;
  try {
    chosen = options(process.argv.slice(2));
    if (chosen === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    out = await openOutput(chosen.out);
  } catch (error) {
    const message = error instanceof UsageError ? `${error.message} (--help for usage)` : `cannot open --out: ${messageOf(error)}`;
    process.stderr.write(`generate: ${message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  try {
    await generate(chosen, out);
  } catch (error) {
    // `generate | head` closes the pipe early: that is the reader's choice, not a failure.
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') return;
    process.stderr.write(`generate: writing ${chosen.out ?? 'stdout'} failed: ${messageOf(error)}\n`);
    process.exitCode = EXIT_FAILED;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

await main();
