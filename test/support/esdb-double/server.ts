// The EventStoreDB double: a gRPC server on the client package's own `Streams` service definition,
// over one in-memory log that outlives the listener. `stop()` takes it off the network (dropping
// every connection, as a crashed or partitioned node would) and `restart()` brings it back on the
// same port with the same data, so tests can watch a client fail and reconnect.
//
// Only Streams.Read and Streams.Append are served. Everything else — ServerFeatures included —
// answers UNIMPLEMENTED, which makes the client fall back from BatchAppend to plain Append.

import { Server, ServerCredentials, status, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { appendHandler } from './append.js';
import { streamsGrpcPb, type ReadReq, type ReadResp } from './protocol.js';
import { serveRead } from './read.js';
import { ResponseWriter } from './response-writer.js';
import { MemoryLog, type StoredEvent } from './state.js';
import { Subscription } from './subscription.js';

export interface EsdbDoubleOptions {
  /** TCP port to listen on; 0 (the default) picks a free one, kept across restarts. */
  readonly port?: number;
  /** Interface to listen on; defaults to 127.0.0.1. */
  readonly host?: string;
}

export interface EsdbDouble {
  readonly host: string;
  readonly port: number;
  /** `esdb://HOST:PORT?tls=false`, for `EventStoreDBClient.connectionString`. */
  readonly connectionString: string;
  /** Whether the double is on the network (false after `stop()` and `close()`). */
  readonly running: boolean;
  /** Takes the server off the network, dropping every call and connection; keeps the data. */
  stop(): Promise<void>;
  /** Brings the server back on the same port with the same data (stopping it first if running). */
  restart(): Promise<void>;
  /** Shuts the server down for good, force-closing calls; resolves when the port is released. */
  close(): Promise<void>;
  /** A copy of one stream's events in revision order ([] when the stream does not exist). */
  streamEvents(name: string): StoredEvent[];
  /** A copy of every event in $all order. */
  allEvents(): StoredEvent[];
  streamNames(): string[];
  /** Subscriptions currently served (a client's unsubscribe shows here once the server saw it). */
  activeSubscriptions(): number;
}

export async function startEsdbDouble(options: EsdbDoubleOptions = {}): Promise<EsdbDouble> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer 0-65535, got ${JSON.stringify(port)}`);
  }
  const double = new GrpcEsdbDouble(options.host ?? '127.0.0.1', port);
  await double.restart();
  return double;
}

class GrpcEsdbDouble implements EsdbDouble {
  private readonly log = new MemoryLog();
  private readonly subscriptions = new Set<Subscription>();
  private server: Server | undefined;
  private closed = false;
  /** stop / restart / close run one at a time, in call order. */
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(
    readonly host: string,
    private boundPort: number,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get connectionString(): string {
    return `esdb://${dialHost(this.host)}:${this.boundPort}?tls=false`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  stop(): Promise<void> {
    return this.serialize(() => this.takeDown());
  }

  restart(): Promise<void> {
    return this.serialize(async () => {
      if (this.closed) throw new Error('the EventStoreDB double is closed');
      await this.takeDown();
      await this.bringUp();
    });
  }

  close(): Promise<void> {
    return this.serialize(async () => {
      this.closed = true;
      await this.takeDown();
    });
  }

  streamEvents(name: string): StoredEvent[] {
    return [...this.log.stream(name)];
  }

  allEvents(): StoredEvent[] {
    return [...this.log.events];
  }

  streamNames(): string[] {
    return this.log.streamNames();
  }

  activeSubscriptions(): number {
    return this.subscriptions.size;
  }

  private serialize(operation: () => Promise<void>): Promise<void> {
    const result = this.lifecycle.then(operation);
    this.lifecycle = result.catch(() => undefined);
    return result;
  }

  private async bringUp(): Promise<void> {
    const server = new Server();
    const implementation: UntypedServiceImplementation = {
      read: (call: ServerWritableStream<ReadReq, ReadResp>) => this.read(call),
      append: appendHandler(this.log),
    };
    server.addService(streamsGrpcPb.StreamsService, implementation);
    this.boundPort = await bind(server, `${bindHost(this.host)}:${this.boundPort}`);
    this.server = server;
  }

  private async takeDown(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      // forceShutdown drops sessions (clients see the connection go); tryShutdown's callback then
      // tells when the listening socket is closed, so the port can be bound again.
      server.forceShutdown();
      server.tryShutdown(() => resolve());
    });
    for (const subscription of [...this.subscriptions]) subscription.detach();
  }

  private read(call: ServerWritableStream<ReadReq, ReadResp>): void {
    const writer = new ResponseWriter(call);
    const options = call.request.getOptions();
    if (options === undefined) return writer.fail(status.INVALID_ARGUMENT, 'read request without options');
    if (options.hasSubscription()) {
      const subscription = Subscription.open(this.log, options, writer, (ended) => this.subscriptions.delete(ended));
      if (subscription?.active) this.subscriptions.add(subscription);
      return;
    }
    serveRead(this.log, options, writer).catch((error: unknown) =>
      writer.fail(status.INTERNAL, error instanceof Error ? error.message : String(error)),
    );
  }
}

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, port) => {
      if (error) reject(error);
      else resolve(port);
    });
  });
}

function bindHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Where a client should dial: wildcard listeners are reached through loopback. */
function dialHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return bindHost(host);
}
