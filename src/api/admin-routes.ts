// Operator routes for the read side: projection status and on-demand rebuilds.

import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import { createError } from '../domain/errors.js';
import type { ProjectionStatus, RebuildJob } from '../projections/projection-service.js';
import { COMMON_API_ERRORS, errorResponses } from './schemas.js';

export interface ProjectionAdmin {
  status(): Promise<ProjectionStatus>;
  /** Starts a rebuild; null when one is running or the service is not ready yet. */
  requestRebuild(reason: string): RebuildJob | null;
}

const STATUS_URL = '/api/admin/projections';

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

// Log positions are 64-bit: strings, so no JSON reader rounds them.
const StatusSchema = Type.Object({
  version: Type.Integer({ description: 'Projection format version' }),
  status: Type.Enum(['starting', 'rebuilding', 'ready']),
  robots: Type.Integer(),
  events: Type.Integer(),
  position: Type.String({ description: 'Log position the projections reflect (a 64-bit integer as a string)' }),
  log_position: nullable(Type.String({ description: 'The log’s last position; null when the store cannot be reached' })),
  caught_up: Type.Boolean(),
  checkpoint: nullable(Type.Object({ position: Type.String(), events: Type.Integer(), saved_at: Type.String({ format: 'date-time' }) })),
  rebuild: nullable(
    Type.Object({
      job_id: Type.String(),
      state: Type.Enum(['running', 'completed', 'failed']),
      reason: Type.String(),
      started_at: Type.String({ format: 'date-time' }),
      finished_at: nullable(Type.String({ format: 'date-time' })),
      events_done: Type.Integer(),
      events_total: Type.Integer(),
      streams_done: Type.Integer(),
      streams_total: Type.Integer(),
      error: nullable(Type.String()),
    }),
  ),
});

const RebuildAcceptedSchema = Type.Object({ job_id: Type.String(), status_url: Type.String() });

export function registerAdminRoutes(app: FastifyInstance, admin: ProjectionAdmin): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['admin'];

  api.get(
    STATUS_URL,
    { schema: { tags, summary: 'Projection status and the last rebuild job', response: { 200: StatusSchema, ...errorResponses(COMMON_API_ERRORS) } } },
    async () => statusBody(await admin.status()),
  );

  const rebuildSchema = {
    tags,
    summary: 'Start a full rebuild of the projections',
    description: 'Rebuilds beside the serving projections and swaps them in once caught up. Follow the job at the Location header.',
    response: { 202: RebuildAcceptedSchema, ...errorResponses([...COMMON_API_ERRORS, 'REBUILD_RUNNING']) },
  };
  api.post(`${STATUS_URL}/rebuild`, { schema: rebuildSchema }, async (_request, reply) => {
    const job = admin.requestRebuild('requested through the admin API');
    if (job === null) {
      const running = (await admin.status()).job;
      throw createError('REBUILD_RUNNING', running?.state === 'running' ? running.id : 'none (the service is starting)');
    }
    return reply.code(202).header('location', STATUS_URL).send({ job_id: job.id, status_url: STATUS_URL });
  });
}

function statusBody(status: ProjectionStatus) {
  const { job, checkpoint } = status;
  return {
    version: status.version,
    status: status.status,
    robots: status.robots,
    events: status.events,
    position: status.position.toString(),
    log_position: status.logPosition?.toString() ?? null,
    caught_up: status.logPosition !== null && status.position >= status.logPosition,
    checkpoint:
      checkpoint === null
        ? null
        : { position: checkpoint.position.toString(), events: checkpoint.events, saved_at: checkpoint.savedAt.toISOString() },
    rebuild:
      job === null
        ? null
        : {
            job_id: job.id,
            state: job.state,
            reason: job.reason,
            started_at: job.startedAt.toISOString(),
            finished_at: job.finishedAt?.toISOString() ?? null,
            events_done: job.progress.eventsDone,
            events_total: job.progress.eventsTotal,
            streams_done: job.progress.streamsDone,
            streams_total: job.progress.streamsTotal,
            error: job.error,
          },
  };
}
