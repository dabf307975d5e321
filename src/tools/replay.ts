// `npm run replay -- FILE`: streams a file of wire-format lines into a running service over one
// WebSocket, shows progress on stderr and ends with the replies by outcome. Exit codes: 0 every
// event answered OK, DUP or STALE; 1 any ERR, or the connection failed; 2 bad flags or an
// unreadable FILE; 130 interrupted (Ctrl-C: frames already sent are still awaited).

import { createReadStream, statSync } from 'node:fs';
import { integerFlag, parseArgs, positiveNumberFlag, UsageError } from './args.js';
import { newFrameStats, readFrames } from './frames.js';
import { describeProgress, ProgressLine } from './progress.js';
import { ReplyTally } from './reply-tally.js';
import { runReplaySession } from './replay-session.js';
import { EXIT_INTERRUPTED, EXIT_USAGE, formatSummary, summarize } from './replay-summary.js';
import { TokenBucket } from '../domain/token-bucket.js';

const DEFAULT_URL = 'ws://127.0.0.1:8000/upstream';
const DEFAULT_MAX_FRAME_BYTES = 1_048_576; // the service's default TELEMETRY_MAX_FRAME_BYTES

const USAGE = `usage: npm run replay -- FILE [--url URL] [--rate N] [--batch N] [--inflight N] [--token T] [--json] [--quiet]

  FILE                 x,y,timestamp,robot_name lines, e.g. from npm run generate ('-' reads stdin)
  --url URL            the service's ingest socket (default ${DEFAULT_URL}; a URL without a path gets /upstream)
  --rate N             at most N events per second (default: as fast as the service answers)
  --batch N            events per frame (default 100; with --rate, at most N/10 so the pace is smooth)
  --inflight N         frames sent ahead of their replies (default 16)
  --max-frame-bytes N  never send a larger frame (default ${DEFAULT_MAX_FRAME_BYTES}, the service's default limit)
  --token T            sent as Authorization: Bearer T (default: env TELEMETRY_TOKEN)
  --json               print the summary as JSON
  --quiet              no progress line`;

interface ReplayOptions {
  file: string;
  url: string;
  rate: number | undefined;
  batch: number;
  inflight: number;
  maxFrameBytes: number;
  token: string | undefined;
  json: boolean;
  quiet: boolean;
  size: number | undefined;
}

function options(argv: readonly string[]): ReplayOptions | 'help' {
  const args = parseArgs(argv, {
    values: ['url', 'rate', 'batch', 'inflight', 'max-frame-bytes', 'token'],
    switches: ['json', 'quiet', 'help'],
  });
  if (args.switches.has('help')) return 'help';
  if (args.positional.length === 0) throw new UsageError('which FILE to replay? (- for stdin)');
  if (args.positional.length > 1) throw new UsageError(`one FILE only, got "${args.positional.join('", "')}"`);
  const file = args.positional[0]!;
  let size: number | undefined;
  if (file !== '-') {
    let stats;
    try {
      stats = statSync(file);
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    if (!stats.isFile()) throw new UsageError(`${file} is not a file`);
    size = stats.size;
  }
  const token = args.values.get('token') ?? process.env.TELEMETRY_TOKEN;
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new UsageError('--token must be printable ASCII without spaces');
  return {
    file,
    url: ingestUrl(args.values.get('url') ?? DEFAULT_URL),
    rate: positiveNumberFlag(args, 'rate'),
    batch: integerFlag(args, 'batch', 100, 1, 100_000),
    inflight: integerFlag(args, 'inflight', 16, 1, 10_000),
    maxFrameBytes: integerFlag(args, 'max-frame-bytes', DEFAULT_MAX_FRAME_BYTES, 64, 1 << 30),
    token: token === '' ? undefined : token,
    json: args.switches.has('json'),
    quiet: args.switches.has('quiet'),
    size,
  };
}

function ingestUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url must be a ws:// or wss:// URL, got "${text}"`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UsageError(`--url must be a ws:// or wss:// URL, got "${text}"`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/upstream';
  return url.href;
}

async function main(): Promise<void> {
  let chosen: ReplayOptions | 'help';
  try {
    chosen = options(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`replay: ${error.message} (--help for usage)\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (chosen === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { file, size } = chosen;
  // A slow rate in big frames would arrive in lumps: keep ten or more frames a second.
  const batch = chosen.rate === undefined ? chosen.batch : Math.min(chosen.batch, Math.max(1, Math.floor(chosen.rate / 10)));
  const stats = newFrameStats();
  const input = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 256 * 1024 });
  const frames = readFrames(input, { maxEvents: batch, maxBytes: chosen.maxFrameBytes }, stats);
  const tally = new ReplyTally();
  const progress = new ProgressLine(process.stderr);
  const started = performance.now();
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED); // a second Ctrl-C does not wait
    process.stderr.write('\nreplay: interrupted, waiting for the replies to frames already sent (Ctrl-C again to quit now)\n');
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);

  const session = await runReplaySession(frames, {
    url: chosen.url,
    token: chosen.token,
    inflight: chosen.inflight,
    bucket: chosen.rate === undefined ? undefined : new TokenBucket(chosen.rate, batch, performance.now()),
    signal: interrupt.signal,
    onReply: (frame, reply) => {
      tally.add(frame, reply);
      if (!chosen.quiet && progress.due()) {
        const fraction = size === undefined || size === 0 ? undefined : tally.answeredBytes / size;
        progress.show(describeProgress(tally.answeredEvents, fraction, performance.now() - started));
      }
    },
  });
  process.off('SIGINT', onSigint);
  if (file !== '-') input.destroy();
  progress.finish();
  if (stats.notUtf8 > 0) tally.error('line is not valid UTF-8 (not sent)', stats.firstNotUtf8Line, stats.notUtf8);

  const summary = summarize(file === '-' ? 'stdin' : file, chosen.url, (performance.now() - started) / 1000, tally, stats, session);
  if (chosen.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    if (summary.failure !== null) process.stderr.write(`replay: ${summary.failure}\n`);
  } else {
    process.stdout.write(formatSummary(summary));
  }
  process.exitCode = summary.exit_code;
}

await main();
