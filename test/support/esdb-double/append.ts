// Streams.Append (client streaming): an `options` message (stream and expected revision), then
// one `proposed_message` per event. Nothing is written until the client half-closes, so a batch
// is atomic: a cancelled or broken call writes nothing. The answer is `success` (current
// revision and position of the batch's last event) or `wrong_expected_version` (the stream's
// current revision or no-stream, and what was expected), never a gRPC error for a conflict.

import { status, type handleClientStreamingCall } from '@grpc/grpc-js';
import type { ExpectedRevision } from './expected-revision.js';
import { empty, streamNameOf, streamsPb, type AppendOptions, type AppendReq, type AppendResp, type ProposedMessage } from './protocol.js';
import type { AppendResult, MemoryLog, ProposedEvent } from './state.js';
import { uuidToString } from './uuid.js';

const { ExpectedStreamRevisionCase } = streamsPb.AppendReq.Options;

export function appendHandler(log: MemoryLog): handleClientStreamingCall<AppendReq, AppendResp> {
  return (call, callback) => {
    let header: { streamName: string; expected: ExpectedRevision } | undefined;
    const proposed: ProposedEvent[] = [];
    let answered = false;
    const fail = (code: status, details: string) => {
      if (answered) return;
      answered = true;
      callback({ code, details });
    };

    call.on('data', (request: AppendReq) => {
      if (answered) return;
      if (header === undefined) {
        const parsed = request.hasOptions() ? headerOf(request.getOptions()!) : 'the first message must carry options';
        if (typeof parsed === 'string') return fail(status.INVALID_ARGUMENT, parsed);
        header = parsed;
        return;
      }
      const event = request.hasProposedMessage() ? proposedEventOf(request.getProposedMessage()!) : 'expected a proposed message';
      if (typeof event === 'string') return fail(status.INVALID_ARGUMENT, event);
      proposed.push(event);
    });

    call.on('end', () => {
      if (answered || call.cancelled) return;
      if (header === undefined) return fail(status.INVALID_ARGUMENT, 'append without options');
      answered = true;
      callback(null, responseOf(log.append(header.streamName, header.expected, proposed)));
    });
  };
}

function headerOf(options: AppendOptions): { streamName: string; expected: ExpectedRevision } | string {
  const streamName = streamNameOf(options.getStreamIdentifier());
  if (streamName === undefined || streamName === '') return 'append without a stream name';
  switch (options.getExpectedStreamRevisionCase()) {
    case ExpectedStreamRevisionCase.REVISION:
      return { streamName, expected: BigInt(options.getRevision()) };
    case ExpectedStreamRevisionCase.NO_STREAM:
      return { streamName, expected: 'no_stream' };
    case ExpectedStreamRevisionCase.ANY:
      return { streamName, expected: 'any' };
    case ExpectedStreamRevisionCase.STREAM_EXISTS:
      return { streamName, expected: 'stream_exists' };
    default:
      return 'append without an expected stream revision';
  }
}

function proposedEventOf(message: ProposedMessage): ProposedEvent | string {
  const id = uuidToString(message.getId());
  if (id === undefined) return 'proposed message without a valid UUID id';
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  if (type === undefined) return 'required metadata property "type" is missing';
  const contentType = metadata.get('content-type');
  if (contentType === undefined) return 'required metadata property "content-type" is missing';
  return {
    id,
    type,
    contentType,
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  };
}

function responseOf(result: AppendResult): AppendResp {
  const response = new streamsPb.AppendResp();
  if (result.kind === 'success') {
    const success = new streamsPb.AppendResp.Success();
    if (result.currentRevision === undefined) success.setNoStream(empty());
    else success.setCurrentRevision(result.currentRevision.toString(10));
    if (result.position === undefined) success.setNoPosition(empty());
    else {
      const text = result.position.toString(10);
      success.setPosition(new streamsPb.AppendResp.Position().setCommitPosition(text).setPreparePosition(text));
    }
    return response.setSuccess(success);
  }
  const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
  if (result.currentRevision === undefined) wrong.setCurrentNoStream(empty());
  else wrong.setCurrentRevision(result.currentRevision.toString(10));
  const expected = result.expected;
  if (expected === 'no_stream') wrong.setExpectedNoStream(empty());
  else if (expected === 'any') wrong.setExpectedAny(empty());
  else if (expected === 'stream_exists') wrong.setExpectedStreamExists(empty());
  else wrong.setExpectedRevision(expected.toString(10));
  return response.setWrongExpectedVersion(wrong);
}
