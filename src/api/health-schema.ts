// Schema of GET /healthz: 200 `{status: "ok"}`, or 503 with the reason as an error body.

import { Type } from 'typebox';
import { ERRORS } from '../domain/errors.js';
import { ErrorBodySchema } from './schemas.js';

export const HEALTH_SCHEMA = {
  tags: ['health'],
  summary: 'Readiness: both listeners up and projections caught up with the log',
  response: {
    200: Type.Object({ status: Type.Literal('ok') }),
    503: Type.Object(
      {
        status: Type.Enum(['starting', 'degraded']),
        ...ErrorBodySchema.properties,
        code: Type.Enum([ERRORS.NOT_READY.code, ERRORS.STORE_UNAVAILABLE.code]),
      },
      { description: 'starting: projections are catching up (TELEMETRY_NOT_READY); degraded: the event store cannot be reached (TELEMETRY_STORE_UNAVAILABLE)' },
    ),
  },
};
