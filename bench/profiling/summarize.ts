// Ranks the functions of a V8 profile by what they cost themselves: a `.cpuprofile` (from `node
// --cpu-prof`) by self time, as a share of the busy time; a `.heapprofile` (from alloc-sampling.ts,
// or DevTools) by bytes allocated. The same figures DevTools shows in its bottom-up view, as text.
//
//   npx tsx bench/profiling/summarize.ts FILE [--top 30]

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

export interface Ranked {
  /** Busy milliseconds (CPU) or bytes (allocation) of the whole profile. */
  readonly total: number;
  /** Idle milliseconds (CPU profiles; 0 for allocation). */
  readonly idle: number;
  readonly rows: ReadonlyArray<{ readonly name: string; readonly value: number; readonly share: number }>;
}

function label(frame: CallFrame): string {
  const file = frame.url.split('/').pop() ?? '';
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

function rank(values: Map<string, number>, total: number, top: number): Ranked['rows'] {
  return [...values]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, value]) => ({ name, value, share: total > 0 ? value / total : 0 }));
}

export function rankCpuProfile(profile: {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}, top = 30): Ranked {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const self = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = frames.get(id)!;
    if (frame.functionName === '(idle)') {
      idle += ms;
      return;
    }
    busy += ms;
    const name = label(frame);
    self.set(name, (self.get(name) ?? 0) + ms);
  });
  return { total: busy, idle, rows: rank(self, busy, top) };
}

interface HeapNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children?: HeapNode[];
}

export function rankHeapProfile(profile: { head: HeapNode }, top = 30): Ranked {
  const self = new Map<string, number>();
  let total = 0;
  const stack: HeapNode[] = [profile.head];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const name = label(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    total += node.selfSize;
    stack.push(...(node.children ?? []));
  }
  return { total, idle: 0, rows: rank(self, total, top) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true });
  const file = positionals[0];
  if (file === undefined) {
    process.stderr.write('usage: summarize.ts FILE.cpuprofile|FILE.heapprofile [--top N]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const top = Number(values.top);
  // A CPU profile is a flat node list with samples; an allocation profile is a tree from `head`.
  if ('nodes' in profile) {
    const ranked = rankCpuProfile(profile as Parameters<typeof rankCpuProfile>[0], top);
    console.log(`busy ${(ranked.total / 1000).toFixed(2)} s, idle ${(ranked.idle / 1000).toFixed(2)} s`);
    for (const row of ranked.rows) console.log(`${row.value.toFixed(0).padStart(8)} ms ${(row.share * 100).toFixed(1).padStart(5)} %  ${row.name}`);
  } else {
    const ranked = rankHeapProfile(profile as unknown as Parameters<typeof rankHeapProfile>[0], top);
    console.log(`allocated (sampled) ${(ranked.total / 1e6).toFixed(1)} MB`);
    for (const row of ranked.rows) console.log(`${(row.value / 1e6).toFixed(1).padStart(8)} MB ${(row.share * 100).toFixed(1).padStart(5)} %  ${row.name}`);
  }
}
