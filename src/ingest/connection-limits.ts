// How many ingest connections may be open: in total, and per token. Checked in the upgrade
// handler, before a socket exists, against the connections open now; counted at open and close.

import { createError, type TelemetryError } from '../domain/errors.js';

export interface ConnectionLimitSettings {
  readonly maxConnections: number;
  readonly maxConnectionsPerToken: number;
}

export interface ConnectionRefusal {
  /** 503: the service as a whole is full; 429: this token holds its share. */
  readonly status: 503 | 429;
  readonly error: TelemetryError;
}

export class ConnectionLimits {
  private open = 0;
  private readonly byToken = new Map<string, number>();

  constructor(private readonly settings: ConnectionLimitSettings) {}

  /** Null when one more connection (with token `tokenId`, or none) may open; else why not. */
  refusal(tokenId: string | null): ConnectionRefusal | null {
    const { maxConnections, maxConnectionsPerToken } = this.settings;
    if (this.open >= maxConnections) {
      return {
        status: 503,
        error: createError('TOO_MANY_CONNECTIONS', `the service holds its limit of ${maxConnections} ingest connections (TELEMETRY_MAX_CONNECTIONS); retry later`),
      };
    }
    if (tokenId !== null && (this.byToken.get(tokenId) ?? 0) >= maxConnectionsPerToken) {
      return {
        status: 429,
        error: createError(
          'TOO_MANY_TOKEN_CONNECTIONS',
          `token ${tokenId} holds its limit of ${maxConnectionsPerToken} ingest connections (TELEMETRY_MAX_CONNECTIONS_PER_TOKEN); close one or retry later`,
        ),
      };
    }
    return null;
  }

  opened(tokenId: string | null): void {
    this.open++;
    if (tokenId !== null) this.byToken.set(tokenId, (this.byToken.get(tokenId) ?? 0) + 1);
  }

  closed(tokenId: string | null): void {
    this.open--;
    if (tokenId === null) return;
    const left = (this.byToken.get(tokenId) ?? 1) - 1;
    if (left <= 0) this.byToken.delete(tokenId);
    else this.byToken.set(tokenId, left);
  }

  /** Connections open now with `tokenId` (tests, logs). */
  heldBy(tokenId: string): number {
    return this.byToken.get(tokenId) ?? 0;
  }
}
