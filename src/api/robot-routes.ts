// REST reads: robots, a robot, its events in a time range, its odometer over a time range.
// Answers come from the projections; event bodies come from the robot's stream, at the revisions
// the projection maps the time range to.

import type { FastifyInstance } from 'fastify';
import { createError } from '../domain/errors.js';
import { EVENT_STRIDE } from '../domain/location.js';
import type { EventLog } from '../store/event-log.js';
import type { Projections } from '../projections/projections.js';
import { checkRobotName, parseLimit, parseTimeRange } from './query.js';

export interface RobotRouteDeps {
  /** The current projections (a rebuild may replace them). */
  readonly projections: () => Projections;
  readonly log: EventLog;
}

interface RobotParams {
  robot: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function registerRobotRoutes(app: FastifyInstance, deps: RobotRouteDeps): void {
  app.get('/api/robots', async (_request, reply) => {
    return reply.type(JSON_TYPE).send(deps.projections().list());
  });

  app.get<{ Params: RobotParams }>('/api/robots/:robot', async (request, reply) => {
    const name = checkRobotName(request.params.robot);
    const robot = deps.projections().get(name);
    if (robot === undefined) throw createError('ROBOT_NOT_FOUND', name);
    return reply.type(JSON_TYPE).send(robot.summary());
  });

  app.get<{ Params: RobotParams }>('/api/robots/:robot/odometer', async (request, reply) => {
    const name = checkRobotName(request.params.robot);
    const { start, end } = parseTimeRange(request.query as Record<string, unknown>);
    const robot = deps.projections().get(name);
    const odometer = robot === undefined ? 0 : robot.odometer(start, end);
    return reply.type(JSON_TYPE).send({ robot: name, odometer, start_time: start, end_time: end });
  });

  app.get<{ Params: RobotParams }>('/api/robots/:robot/events', async (request, reply) => {
    const name = checkRobotName(request.params.robot);
    const query = request.query as Record<string, unknown>;
    const { start, end } = parseTimeRange(query);
    const limit = parseLimit(query);
    reply.type(JSON_TYPE);
    const robot = deps.projections().get(name);
    if (robot === undefined) return reply.send('[]');
    const range = robot.range(start, end);
    const count = Math.min(limit, range.end - range.first);
    if (count === 0) return reply.send('[]');
    const chunk = await deps.log.readStream(name, BigInt(range.first), count);
    const events = chunk?.events ?? new Float64Array(0);
    if (events.length !== count * EVENT_STRIDE) {
      throw new Error(`stream ${name} returned ${events.length / EVENT_STRIDE} events at revision ${range.first}; the projection expects ${count}`);
    }
    if (range.end - range.first > limit) {
      const next = robot.timestampAt(range.first + limit);
      const url = `/api/robots/${encodeURIComponent(name)}/events?start_time=${next}&end_time=${end}&limit=${limit}`;
      reply.header('link', `<${url}>; rel="next"`);
    }
    return reply.send(eventsJson(name, events));
  });
}

/** Serialises events without an object per event: the array can hold 100,000 of them. */
function eventsJson(robot: string, events: Float64Array): string {
  const prefix = `{"robot":${JSON.stringify(robot)},"x":`;
  const parts: string[] = [];
  for (let i = 0; i < events.length; i += EVENT_STRIDE) {
    parts.push(`${prefix}${events[i]},"y":${events[i + 1]},"timestamp":${events[i + 2]}}`);
  }
  return `[${parts.join(',')}]`;
}
