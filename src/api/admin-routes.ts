// Operator routes for the read side: projection status and on-demand rebuilds.

import type { FastifyInstance } from 'fastify';
import { createError } from '../domain/errors.js';
import type { ProjectionStatus, RebuildJob } from '../projections/projection-service.js';

export interface ProjectionAdmin {
  status(): Promise<ProjectionStatus>;
  /** Starts a rebuild; null when one is running or the service is not ready yet. */
  requestRebuild(reason: string): RebuildJob | null;
}

const STATUS_URL = '/api/admin/projections';

export function registerAdminRoutes(app: FastifyInstance, admin: ProjectionAdmin): void {
  app.get(STATUS_URL, async () => statusBody(await admin.status()));

  app.post(`${STATUS_URL}/rebuild`, async (_request, reply) => {
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
