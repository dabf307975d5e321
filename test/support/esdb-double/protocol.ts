// The client package's own generated gRPC definitions and message classes, loaded through the
// client's module graph (createRequire) so the double builds messages with the very classes, and
// the very google-protobuf instance, that @eventstore/db-client decodes them with.

import { createRequire } from 'node:module';
import type * as SharedPb from '@eventstore/db-client/generated/shared_pb.js';
import type * as StreamsGrpcPb from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type * as StreamsPb from '@eventstore/db-client/generated/streams_pb.js';

const require = createRequire(import.meta.url);

export const streamsPb = require('@eventstore/db-client/generated/streams_pb.js') as typeof StreamsPb;
export const sharedPb = require('@eventstore/db-client/generated/shared_pb.js') as typeof SharedPb;
export const streamsGrpcPb = require('@eventstore/db-client/generated/streams_grpc_pb.js') as typeof StreamsGrpcPb;

export type ReadReq = StreamsPb.ReadReq;
export type ReadResp = StreamsPb.ReadResp;
export type ReadOptions = StreamsPb.ReadReq.Options;
export type FilterOptions = StreamsPb.ReadReq.Options.FilterOptions;
export type AppendReq = StreamsPb.AppendReq;
export type AppendOptions = StreamsPb.AppendReq.Options;
export type AppendResp = StreamsPb.AppendResp;
export type ProposedMessage = StreamsPb.AppendReq.ProposedMessage;
export type Uuid = SharedPb.UUID;
export type StreamIdentifier = SharedPb.StreamIdentifier;

/** The stream name a StreamIdentifier carries (bytes on the wire, UTF-8 by convention). */
export function streamNameOf(identifier: StreamIdentifier | undefined): string | undefined {
  if (identifier === undefined) return undefined;
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
}

export function streamIdentifier(name: string): StreamIdentifier {
  return new sharedPb.StreamIdentifier().setStreamName(Buffer.from(name, 'utf8'));
}

export function empty(): SharedPb.Empty {
  return new sharedPb.Empty();
}
