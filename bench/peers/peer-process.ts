// The process shell every peer shares: `--port N --data-dir DIR`, one `{"port":N}` line on stdout
// once listening, and a clean close on SIGTERM (or SIGINT) ending in exit code 0.

import { parseArgs } from 'node:util';

export interface PeerOptions {
  readonly port: number;
  /** Where a storing peer keeps its files; peers that store nothing ignore it. */
  readonly dataDir: string | undefined;
}

export interface ListeningPeer {
  readonly port: number;
  close(): Promise<void>;
}

export function runPeer(name: string, start: (options: PeerOptions) => Promise<ListeningPeer>): void {
  const fail = (what: string, error: unknown): never => {
    process.stderr.write(`${name}: ${what}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  };
  let options: PeerOptions;
  try {
    const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'data-dir': { type: 'string' } } });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer 0-65535, got ${JSON.stringify(values.port)}`);
    options = { port, dataDir: values['data-dir'] };
  } catch (error) {
    return fail('bad arguments', error);
  }
  start(options).then(
    (peer) => {
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        peer.close().then(
          () => process.exit(0),
          (error: unknown) => fail('close failed', error),
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      process.stdout.write(`${JSON.stringify({ port: peer.port })}\n`);
    },
    (error: unknown) => fail('cannot start', error),
  );
}

export function requireDataDir(name: string, options: PeerOptions): string {
  if (options.dataDir === undefined) throw new Error(`${name} stores its events: --data-dir DIR is required`);
  return options.dataDir;
}
