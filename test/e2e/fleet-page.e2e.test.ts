// The fleet page in a real browser: Debian's chromium, driven by playwright-core, against the real
// service fed over the real ingest WebSocket. It selects a robot and a range, checks the track the
// page drew and the odometer it shows against figures computed here from the events sent, then
// watches a new event arrive live. Skipped, with the reason printed, where no chromium is installed
// (.ci/run installs it, so CI always runs this).

import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/in-process-service.js';
import { IngestClient } from '../support/ingest-client.js';
import { makeTempDir } from '../support/temp-dir.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts', 'fleet-page.png');
const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed (.ci/run installs Debian's chromium)`;
if (missing !== null) console.warn(`fleet-page browser test skipped: ${missing}`);

type Point = readonly [x: number, y: number, t: number];

const BENDER: Point[] = [
  [0, 0, 1000],
  [3, 4, 2000],
  [6, 8, 3000],
  [6, 2, 4000],
  [-2, 2, 5000],
  [-2.5, -1.25, 6000],
  [10, -1.25, 7000],
  [10, 5, 8000],
];
const CALCULON: Point[] = [
  [100, 100, 1500],
  [101, 100, 2500],
];

/** Distance travelled between the first and last event with start ≤ t ≤ end, from the points sent. */
function odometer(points: readonly Point[], start: number, end: number): number {
  const inside = points.filter(([, , t]) => t >= start && t <= end);
  let total = 0;
  for (let i = 1; i < inside.length; i++) {
    total += Math.hypot(inside[i]![0] - inside[i - 1]![0], inside[i]![1] - inside[i - 1]![1]);
  }
  return total;
}

function lines(robot: string, points: readonly Point[]): string[] {
  return points.map(([x, y, t]) => `${x},${y},${t},${robot}`);
}

async function restOdometer(service: TestService, robot: string, start: number, end?: number): Promise<number> {
  const query = end === undefined ? `start_time=${start}` : `start_time=${start}&end_time=${end}`;
  const response = await fetch(`${service.http}/api/robots/${encodeURIComponent(robot)}/odometer?${query}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { odometer: number }).odometer;
}

/** Waits until the drawn track of `robot` has `count` points; returns the path's vertex count too. */
async function drawnTrack(page: Page, robot: string, count: number): Promise<{ points: number; vertices: number }> {
  const path = page.locator(`path[data-testid="track"][data-robot="${robot}"][data-points="${count}"]`);
  await path.waitFor();
  const d = (await path.getAttribute('d')) ?? '';
  return { points: Number(await path.getAttribute('data-points')), vertices: (d.match(/[ML]/g) ?? []).length };
}

async function shownOdometer(page: Page, robot: string): Promise<{ text: string; value: number }> {
  const shown = page.locator(`[data-testid="range-odometer"][data-robot="${robot}"]`);
  return { text: (await shown.textContent()) ?? '', value: Number(await shown.getAttribute('data-odometer')) };
}

describe.skipIf(missing !== null)('fleet page in chromium', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let profile: ReturnType<typeof makeTempDir>;
  let service: TestService | undefined;
  let ingest: IngestClient | undefined;
  let browser: BrowserContext | undefined;

  beforeEach(() => {
    dir = makeTempDir();
    profile = makeTempDir('fleet-page-chromium-');
  });

  afterEach(async () => {
    await browser?.close();
    await ingest?.close();
    await service?.close();
    dir.remove();
    profile.remove();
  });

  it('draws a robot track over a range with its odometer, and shows a new position live', async () => {
    service = await startTestService({ TELEMETRY_DATA_DIR: dir.path });
    ingest = await IngestClient.connect(service.ingestPort);
    expect(await ingest.sendEvents([...lines('Bender', BENDER), ...lines('Calculon', CALCULON)])).toEqual(
      Array(BENDER.length + CALCULON.length).fill('OK'),
    );
    await service.whenProjected();

    browser = await chromium.launchPersistentContext(profile.path, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${service.http}/`);

    // The table lists both robots from the REST API.
    const bender = page.locator('tr[data-testid="robot-row"][data-robot="Bender"]');
    await bender.waitFor();
    expect(await page.locator('tr[data-testid="robot-row"]').count()).toBe(2);
    expect(await bender.locator('[data-field="time"]').textContent()).toBe('8000');
    expect(await bender.locator('[data-field="position"]').textContent()).toBe('10, 5');

    // A closed range: 2000–6000 holds five of Bender's events.
    await bender.getByTestId('robot-select').check();
    await page.getByTestId('range-start').fill('2000');
    await page.getByTestId('range-end').fill('6000');
    await page.getByTestId('draw').click();
    const inRange = BENDER.filter(([, , t]) => t >= 2000 && t <= 6000).length;
    expect(await drawnTrack(page, 'Bender', inRange)).toEqual({ points: inRange, vertices: inRange });
    const expected = odometer(BENDER, 2000, 6000);
    expect(await restOdometer(service, 'Bender', 2000, 6000)).toBeCloseTo(expected, 9);
    const shown = await shownOdometer(page, 'Bender');
    expect(shown.value).toBeCloseTo(expected, 9);
    expect(shown.text).toBe(expected.toFixed(3));
    expect(await page.locator('path[data-testid="track"]').count()).toBe(1);

    // An open end follows the robot live: a new event is appended to the track and the table.
    await page.getByTestId('range-end').fill('');
    await page.getByTestId('draw').click();
    const fromStart = BENDER.filter(([, , t]) => t >= 2000).length;
    await drawnTrack(page, 'Bender', fromStart);
    await page.locator('[data-testid="live-status"][data-state="open"]').waitFor();
    const next: Point = [10, 12, 9000];
    expect(await ingest.sendEvents(lines('Bender', [next]))).toEqual(['OK']);

    expect(await drawnTrack(page, 'Bender', fromStart + 1)).toEqual({ points: fromStart + 1, vertices: fromStart + 1 });
    await bender.locator('[data-field="time"]:text-is("9000")').waitFor();
    expect(await bender.locator('[data-field="position"]').textContent()).toBe('10, 12');
    const liveExpected = odometer([...BENDER, next], 2000, Number.MAX_SAFE_INTEGER);
    await page.locator(`[data-testid="range-odometer"][data-robot="Bender"]:text-is("${liveExpected.toFixed(3)}")`).waitFor();
    expect(await restOdometer(service, 'Bender', 2000)).toBeCloseTo(liveExpected, 9);
    expect((await shownOdometer(page, 'Bender')).value).toBeCloseTo(liveExpected, 9);
    expect(await page.getByTestId('error').isHidden()).toBe(true);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
