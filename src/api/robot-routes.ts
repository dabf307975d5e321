// REST reads: robots, a robot, its events in a time range (JSON, or a CSV/GeoJSON/GPX download),
// its odometer over a time range. Answers come from the projections; event bodies come from the
// robot's stream, at the revisions the projection maps the time range to.

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { createError } from '../domain/errors.js';
import { EVENT_STRIDE } from '../domain/location.js';
import type { EventLog } from '../store/event-log.js';
import type { Projections } from '../projections/projections.js';
import { attachment } from './exports/content-disposition.js';
import { exportStream } from './exports/export-stream.js';
import { FORMAT_INFO, type ExportFormat } from './exports/formats.js';
import { negotiateFormat } from './exports/negotiate.js';
import { exactNumber } from './exports/numbers.js';
import { readPage } from './exports/pages.js';
import { checkRobotName, DEFAULT_EVENTS_LIMIT, EventsQuerySchema, parseOptionalLimit, parseTimeRange, TimeRangeQuerySchema } from './query.js';
import { COMMON_API_ERRORS, errorResponses, RobotParamsSchema } from './schemas.js';

export interface RobotRouteDeps {
  /** The current projections (a rebuild may replace them). */
  readonly projections: () => Projections;
  readonly log: EventLog;
}

const JSON_TYPE = 'application/json; charset=utf-8';

// Every robot read answers 503 TELEMETRY_NOT_READY until the projections have caught up (app.ts).
const READ_ERRORS = [...COMMON_API_ERRORS, 'NOT_READY'] as const;

const RobotSummarySchema = Type.Object({
  name: Type.String(),
  odometer: Type.Number({ description: 'Distance travelled over the whole history, in the robots’ plane units' }),
  first_timestamp: Type.Number({ description: 'Milliseconds' }),
  last_timestamp: Type.Number({ description: 'Milliseconds' }),
  last_x: Type.Number(),
  last_y: Type.Number(),
  event_count: Type.Integer(),
});

const OdometerSchema = Type.Object({
  robot: Type.String(),
  // null only when the path length overflows a double (coordinates near ±1e308).
  odometer: Type.Unsafe<number | null>({
    type: ['number', 'null'],
    description: 'Distance between the first and the last event inside the range; 0 for fewer than two events or an unknown robot',
  }),
  start_time: Type.Number({ description: 'The range used, after defaults and swapping' }),
  end_time: Type.Number(),
});

const EventSchema = Type.Object({ robot: Type.String(), x: Type.Number(), y: Type.Number(), timestamp: Type.Number({ description: 'Milliseconds' }) });

const EXPORT_DESCRIPTION =
  'The robot’s events in the time range, in time order. The representation is chosen by `?format=` or else by the Accept header ' +
  '(application/json, text/csv, application/geo+json, application/gpx+xml; JSON when there is no Accept). ' +
  'JSON answers at most `limit` events (default 10000). Exports are downloads streamed in pages: the whole range, or `limit` events when given; ' +
  'when events remain, `Link: <…>; rel="next"` names the next page. CSV rows are the ingest wire format `x,y,timestamp,robot_name` after a header, ' +
  'so an export can be replayed. GeoJSON is one Feature (LineString, or Point for one event, null geometry for none) with `properties.timestamps`, ' +
  'and GPX 1.1 is one track; both carry the robots’ plane coordinates (GeoJSON [x, y]; GPX lon = x, lat = y), not WGS84. Unknown robots give empty answers.';

export function registerRobotRoutes(app: FastifyInstance, deps: RobotRouteDeps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['robots'];

  api.get(
    '/api/robots',
    { schema: { tags, summary: 'Every robot, by name', response: { 200: Type.Array(RobotSummarySchema), ...errorResponses(READ_ERRORS) } } },
    async (_request, reply) => reply.type(JSON_TYPE).send(deps.projections().list()),
  );

  api.get(
    '/api/robots/:robot',
    {
      schema: {
        tags,
        summary: 'One robot',
        params: RobotParamsSchema,
        response: { 200: RobotSummarySchema, ...errorResponses([...READ_ERRORS, 'INVALID_ROBOT_NAME', 'ROBOT_NOT_FOUND']) },
      },
    },
    async (request, reply) => {
      const name = checkRobotName(request.params.robot);
      const robot = deps.projections().get(name);
      if (robot === undefined) throw createError('ROBOT_NOT_FOUND', name);
      return reply.type(JSON_TYPE).send(robot.summary());
    },
  );

  api.get(
    '/api/robots/:robot/odometer',
    {
      schema: {
        tags,
        summary: 'Distance travelled in a time range',
        params: RobotParamsSchema,
        querystring: TimeRangeQuerySchema,
        response: { 200: OdometerSchema, ...errorResponses([...READ_ERRORS, 'INVALID_ROBOT_NAME', 'INVALID_QUERY']) },
      },
    },
    async (request, reply) => {
      const name = checkRobotName(request.params.robot);
      const { start, end } = parseTimeRange(request.query);
      const robot = deps.projections().get(name);
      const odometer = robot === undefined ? 0 : robot.odometer(start, end);
      // NaN (Infinity − Infinity after an overflow) has no JSON form; null, as JSON.stringify writes it.
      return reply.type(JSON_TYPE).send({ robot: name, odometer: Number.isNaN(odometer) ? null : odometer, start_time: start, end_time: end });
    },
  );

  const exportContent = (format: Exclude<ExportFormat, 'json'>) => ({ [FORMAT_INFO[format].mediaType]: { schema: Type.String() } });

  api.get(
    '/api/robots/:robot/events',
    {
      schema: {
        tags,
        summary: 'Events in a time range: JSON, or a CSV, GeoJSON or GPX download',
        description: EXPORT_DESCRIPTION,
        params: RobotParamsSchema,
        querystring: EventsQuerySchema,
        response: {
          200: {
            description: 'The events; exports come with Content-Disposition: attachment',
            content: {
              'application/json': { schema: Type.Array(EventSchema) },
              ...exportContent('csv'),
              ...exportContent('geojson'),
              ...exportContent('gpx'),
            },
          },
          ...errorResponses([...READ_ERRORS, 'INVALID_ROBOT_NAME', 'INVALID_QUERY', 'NOT_ACCEPTABLE', 'STORE_UNAVAILABLE']),
        },
      },
    },
    async (request, typedReply) => {
      // The body is pre-serialised JSON text or a stream, which the schema-typed reply does not model.
      const reply = typedReply as FastifyReply;
      const name = checkRobotName(request.params.robot);
      const query = request.query;
      const { start, end } = parseTimeRange(query);
      const requestedLimit = parseOptionalLimit(query);
      const format = negotiateFormat(query.format, request.headers.accept);
      // Caches must key on Accept: the same URL answers in several formats.
      reply.header('vary', 'accept');
      const robot = deps.projections().get(name);
      const range = robot === undefined ? { first: 0, end: 0 } : robot.range(start, end);
      const available = range.end - range.first;
      // JSON pages by default; an export is the whole range unless a limit is asked for.
      const limit = requestedLimit ?? (format === 'json' ? DEFAULT_EVENTS_LIMIT : null);
      const count = limit === null ? available : Math.min(limit, available);
      if (limit !== null && available > limit) {
        const next = robot!.timestampAt(range.first + limit);
        const formatParam = query.format === undefined || query.format === 'json' ? '' : `&format=${query.format}`;
        const url = `/api/robots/${encodeURIComponent(name)}/events?start_time=${next}&end_time=${end}&limit=${limit}${formatParam}`;
        reply.header('link', `<${url}>; rel="next"`);
      }
      if (format !== 'json') {
        const body = await exportStream({ format, log: deps.log, robot: name, projection: robot, startTime: start, endTime: end, first: range.first, count });
        const { contentType, extension } = FORMAT_INFO[format];
        return reply.type(contentType).header('content-disposition', attachment(name, extension!)).send(body);
      }
      reply.type(JSON_TYPE);
      if (count === 0) return reply.send('[]');
      return reply.send(eventsJson(name, await readPage(deps.log, name, range.first, count)));
    },
  );
}

/**
 * Serialises events without an object per event: the array can hold 100,000 of them. Coordinates
 * as the exports write them (exactNumber), so -0 reads back as -0 here too.
 */
function eventsJson(robot: string, events: Float64Array): string {
  const prefix = `{"robot":${JSON.stringify(robot)},"x":`;
  const parts: string[] = [];
  for (let i = 0; i < events.length; i += EVENT_STRIDE) {
    parts.push(`${prefix}${exactNumber(events[i]!)},"y":${exactNumber(events[i + 1]!)},"timestamp":${events[i + 2]}}`);
  }
  return `[${parts.join(',')}]`;
}
