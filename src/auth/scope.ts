// What a token may do. Writing scopes (`robots`, `prefix`, `fleet`) open the ingest socket; `read`
// opens REST reads; `admin` opens REST reads and the admin routes. Nothing opens both sides: a
// robot's firmware has no business reading the fleet, and an analyst none writing to it.

import { robotNameError } from '../domain/wire-format.js';

export type Scope =
  | { readonly type: 'robots'; readonly robots: readonly string[] }
  | { readonly type: 'prefix'; readonly prefix: string }
  | { readonly type: 'fleet' }
  | { readonly type: 'read' }
  | { readonly type: 'admin' };

export type ScopeType = Scope['type'];
export const SCOPE_TYPES: readonly ScopeType[] = ['robots', 'prefix', 'fleet', 'read', 'admin'];

/**
 * The per-event check of a connection, shaped for the ingest hot path: `null` means fleet-wide (no
 * check at all); otherwise a Set lookup or a `startsWith`, neither of which allocates.
 */
export interface RobotFilter {
  readonly robots: ReadonlySet<string> | null;
  readonly prefix: string;
}

export type WriteAccess = RobotFilter | null;

export function canWrite(scope: Scope): boolean {
  return scope.type === 'robots' || scope.type === 'prefix' || scope.type === 'fleet';
}

export function canRead(scope: Scope): boolean {
  return scope.type === 'read' || scope.type === 'admin';
}

export function canAdminister(scope: Scope): boolean {
  return scope.type === 'admin';
}

/** The hot-path filter of a writing scope (undefined for a scope that cannot write). */
export function writeAccess(scope: Scope): WriteAccess | undefined {
  switch (scope.type) {
    case 'fleet':
      return null;
    case 'robots':
      return { robots: new Set(scope.robots), prefix: '' };
    case 'prefix':
      return { robots: null, prefix: scope.prefix };
    default:
      return undefined;
  }
}

export function allowsRobot(filter: RobotFilter, robot: string): boolean {
  return filter.robots !== null ? filter.robots.has(robot) : robot.startsWith(filter.prefix);
}

/** One line for logs and `--list`: `robots Bender,Calculon`, `prefix "wh1-"`, `fleet`, … */
export function describeScope(scope: Scope): string {
  if (scope.type === 'robots') return `robots ${scope.robots.join(',')}`;
  if (scope.type === 'prefix') return `prefix ${JSON.stringify(scope.prefix)}`;
  return scope.type;
}

/** Why `prefix` cannot start robot names, or null. Same character rules as names. */
export function prefixError(prefix: string): string | null {
  if (prefix.length === 0) return 'prefix must not be empty';
  // A prefix may end in a space ("Dock 7 ") but is otherwise held to the name rules.
  const asName = robotNameError(prefix.trimEnd() === prefix ? prefix : `${prefix}x`);
  return asName === null ? null : asName.replace(/^robot_name/, 'prefix');
}

/** Validates `value` as a scope; throws a message naming `where`. */
export function parseScope(value: unknown, where: string): Scope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where} must be an object with a "type" (${SCOPE_TYPES.join(', ')})`);
  }
  const record = value as Record<string, unknown>;
  const type = record.type;
  switch (type) {
    case 'fleet':
    case 'read':
    case 'admin':
      onlyKeys(record, ['type'], where);
      return { type };
    case 'robots': {
      onlyKeys(record, ['type', 'robots'], where);
      const robots = record.robots;
      if (!Array.isArray(robots) || robots.length === 0) throw new Error(`${where}.robots must be a non-empty array of robot names`);
      robots.forEach((robot, i) => {
        const problem = typeof robot === 'string' ? robotNameError(robot) : 'robot_name must be a string';
        if (problem !== null) throw new Error(`${where}.robots[${i}]: ${problem}`);
      });
      return { type, robots: [...new Set(robots as string[])] };
    }
    case 'prefix': {
      onlyKeys(record, ['type', 'prefix'], where);
      const prefix = record.prefix;
      if (typeof prefix !== 'string') throw new Error(`${where}.prefix must be a string`);
      const problem = prefixError(prefix);
      if (problem !== null) throw new Error(`${where}.prefix: ${problem}`);
      return { type, prefix };
    }
    default:
      throw new Error(`${where}.type must be one of ${SCOPE_TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  }
}

function onlyKeys(record: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw new Error(`${where} has an unknown key ${JSON.stringify(key)} for type ${String(record.type)}`);
  }
}
