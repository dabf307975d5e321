// GET /: the fleet page (plain HTML, one JS module, one CSS file), served by this Fastify app.
// The assets live in the source tree (src/api/page/); the build compiles TypeScript only, so the
// folder is found from this module's location whether it runs from src/ (tsx) or dist/src/.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const PAGE_INDEX = 'index.html';

/** The folder holding the page's assets: beside this module, or src/api/page of an ancestor (from dist/). */
export function pageAssetsDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  const beside = join(from, 'page');
  if (existsSync(join(beside, PAGE_INDEX))) return beside;
  for (let dir = from, parent = dirname(dir); parent !== dir; dir = parent, parent = dirname(dir)) {
    const candidate = join(parent, 'src', 'api', 'page');
    if (existsSync(join(candidate, PAGE_INDEX))) return candidate;
  }
  throw new Error(`fleet page assets not found: no src/api/page/${PAGE_INDEX} beside or above ${from}`);
}

export function registerPageRoutes(app: FastifyInstance, root: string = pageAssetsDir()): void {
  void app.register(fastifyStatic, {
    root,
    prefix: '/',
    // Only the files present at start get routes; any other path is the app's JSON 404.
    wildcard: false,
    index: PAGE_INDEX,
    // Another registration (API docs) may own reply.sendFile; this one needs none.
    decorateReply: false,
    // The page is small and changes with the service: always revalidate.
    cacheControl: false,
    setHeaders: (res) => res.header('cache-control', 'no-cache'),
  });
}
