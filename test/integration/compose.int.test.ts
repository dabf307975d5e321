// Container deployment files, checked without Docker: the two Compose files (single KurrentDB node,
// three-node cluster), the Dockerfile and .dockerignore must agree with each other and with the
// service — the same pinned store image, gossip seeds naming exactly the other nodes, a connection
// string whose hosts are exactly the store services, published ports that the image exposes, and
// only environment variables that the service reads.

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = new URL('../../', import.meta.url);
const KURRENTDB_IMAGE = /^docker\.kurrent\.io\/kurrent-latest\/kurrentdb:(\d+\.\d+(?:\.\d+)?)$/;
const KURRENTDB_PORT = 2113;
const KURRENTDB_DATA = '/var/lib/kurrentdb';
const TELEMETRY_SERVICE = 'telemetry';
const TELEMETRY_DATA = '/app/data';
const SERVICE_PORTS = [8000, 8080];

/** Variables being added with the EventStoreDB adapter, not yet in src/config.ts everywhere. */
const ADDED_VARIABLES = ['TELEMETRY_STORE', 'EVENTSTORE_CONNECTION_STRING'];

type YamlMap = Record<string, unknown>;

function readText(path: string): string {
  return readFileSync(new URL(path, ROOT), 'utf8');
}

function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function map(value: unknown, what: string): YamlMap {
  if (!isMap(value)) throw new Error(`${what} must be a mapping, got ${JSON.stringify(value)}`);
  return value;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} must be a list, got ${JSON.stringify(value)}`);
  return value;
}

/** A service's environment, from either Compose form (`KEY: value` or `- KEY=value`). */
function environment(service: YamlMap): Map<string, string> {
  const env = new Map<string, string>();
  const raw = service['environment'];
  if (raw === undefined) return env;
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const text = String(entry);
      const eq = text.indexOf('=');
      env.set(eq < 0 ? text : text.slice(0, eq), eq < 0 ? '' : text.slice(eq + 1));
    }
  } else {
    for (const [key, value] of Object.entries(map(raw, 'environment'))) env.set(key, value === null ? '' : String(value));
  }
  return env;
}

/** Container ports a service publishes, from short (`[ip:]host:container[/proto]`) or long syntax. */
function publishedContainerPorts(service: YamlMap): number[] {
  const raw = service['ports'];
  if (raw === undefined) return [];
  return list(raw, 'ports').map((entry) => {
    if (isMap(entry)) return Number(entry['target']);
    const withoutProtocol = String(entry).split('/')[0] ?? '';
    return Number(withoutProtocol.split(':').at(-1));
  });
}

interface Mount {
  readonly source: string | undefined;
  readonly target: string;
  readonly named: boolean;
}

function mounts(service: YamlMap): Mount[] {
  const raw = service['volumes'];
  if (raw === undefined) return [];
  return list(raw, 'volumes').map((entry) => {
    if (isMap(entry)) {
      const source = entry['source'] === undefined ? undefined : String(entry['source']);
      return { source, target: String(entry['target']), named: entry['type'] === 'volume' && source !== undefined };
    }
    const parts = String(entry).split(':');
    if (parts.length === 1) return { source: undefined, target: parts[0] ?? '', named: false };
    const source = parts[0] ?? '';
    return { source, target: parts[1] ?? '', named: !/^[./~$]/.test(source) };
  });
}

/** depends_on as service → condition (the short list form means `service_started`). */
function dependsOn(service: YamlMap): Map<string, string> {
  const raw = service['depends_on'];
  const deps = new Map<string, string>();
  if (raw === undefined) return deps;
  if (Array.isArray(raw)) {
    for (const name of raw) deps.set(String(name), 'service_started');
  } else {
    for (const [name, spec] of Object.entries(map(raw, 'depends_on'))) {
      deps.set(name, isMap(spec) && spec['condition'] !== undefined ? String(spec['condition']) : 'service_started');
    }
  }
  return deps;
}

function healthcheckText(service: YamlMap, name: string): string {
  const check = map(service['healthcheck'], `${name}.healthcheck`);
  expect(check['disable'], `${name} healthcheck is disabled`).not.toBe(true);
  const test = check['test'];
  const text = Array.isArray(test) ? test.map(String).join(' ') : String(test);
  expect(text, `${name} healthcheck`).not.toMatch(/^NONE\b/);
  return text;
}

interface EsdbConnection {
  readonly hosts: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly params: URLSearchParams;
}

/** `esdb://h1:p1,h2:p2?k=v`: WHATWG URL cannot hold several hosts, so split it by hand. */
function parseEsdb(connectionString: string): EsdbConnection {
  const match = /^esdb:\/\/([^/?]+)\/?(?:\?(.*))?$/.exec(connectionString);
  if (match === null) throw new Error(`not an esdb:// connection string: ${connectionString}`);
  const authority = match[1] ?? '';
  const hosts = authority.split(',').map((hostPort) => {
    const [host = '', port = ''] = hostPort.split(':');
    return { host, port: port === '' ? KURRENTDB_PORT : Number(port) };
  });
  return { hosts, params: new URLSearchParams(match[2] ?? '') };
}

/** Environment variables the service reads: named in src/config.ts, plus those being added. */
function knownVariables(): Set<string> {
  const names = readText('src/config.ts').match(/TELEMETRY_[A-Z_]+/g) ?? [];
  return new Set([...names, ...ADDED_VARIABLES]);
}

// ---- Dockerfile ------------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const stages: Stage[] = [];
  for (const line of logical) {
    const [word = '', ...rest] = line.split(/\s+/);
    const keyword = word.toUpperCase();
    const args = rest.join(' ');
    if (keyword === 'FROM') {
      const from = args.split(/\s+/).filter((part) => !part.startsWith('--'));
      const name = from[1]?.toUpperCase() === 'AS' ? from[2] : undefined;
      stages.push({ image: from[0] ?? '', name, instructions: [] });
    } else if (keyword === 'ARG' && stages.length === 0) {
      continue;
    } else {
      const stage = stages.at(-1);
      if (stage === undefined) throw new Error(`Dockerfile: ${keyword} before FROM`);
      stage.instructions.push({ keyword, args });
    }
  }
  return stages;
}

function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** The words of an exec-form (`["a", "b"]`) or shell-form instruction. */
function words(args: string): string[] {
  const exec = args.replace(/^(--\S+\s+)*CMD\s+/, '');
  if (exec.trim().startsWith('[')) return (JSON.parse(exec) as unknown[]).map(String);
  return exec.split(/\s+/);
}

// ---- the files -------------------------------------------------------------------------------

interface ComposeCase {
  readonly file: string;
  readonly storeCount: number;
  readonly clusterSize: string;
}

const CASES: readonly ComposeCase[] = [
  { file: 'docker-compose.yml', storeCount: 1, clusterSize: '1' },
  { file: 'docker-compose.cluster.yml', storeCount: 3, clusterSize: '3' },
];

function loadCompose(file: string): YamlMap {
  // merge: Compose resolves `<<: *anchor` merge keys, and so must we.
  return map(parse(readText(file), { merge: true }), file);
}

function services(compose: YamlMap, file: string): Map<string, YamlMap> {
  const raw = map(compose['services'], `${file} services`);
  return new Map(Object.entries(raw).map(([name, spec]) => [name, map(spec, `${file} ${name}`)]));
}

function storeServices(compose: YamlMap, file: string): Map<string, YamlMap> {
  return new Map([...services(compose, file)].filter(([, spec]) => String(spec['image'] ?? '').includes('kurrentdb')));
}

function telemetryService(compose: YamlMap, file: string): YamlMap {
  const service = services(compose, file).get(TELEMETRY_SERVICE);
  if (service === undefined) throw new Error(`${file} has no ${TELEMETRY_SERVICE} service`);
  return service;
}

function declaredVolumes(compose: YamlMap): Set<string> {
  const raw = compose['volumes'];
  return new Set(raw === undefined || raw === null ? [] : Object.keys(map(raw, 'volumes')));
}

const dockerfileStages = parseDockerfile(existsSync(new URL('Dockerfile', ROOT)) ? readText('Dockerfile') : '');
const runtimeStage = dockerfileStages.at(-1);

describe.each(CASES)('$file', ({ file, storeCount, clusterSize }) => {
  const compose = loadCompose(file);
  const stores = storeServices(compose, file);
  const storeNames = [...stores.keys()].sort();
  const telemetry = telemetryService(compose, file);
  const telemetryEnv = environment(telemetry);

  it(`runs ${storeCount} KurrentDB node(s) from one pinned image`, () => {
    expect(stores.size).toBe(storeCount);
    const images = new Set([...stores.values()].map((spec) => String(spec['image'])));
    expect(images.size).toBe(1);
    const [image = ''] = images;
    expect(image).toMatch(KURRENTDB_IMAGE);
  });

  it(`configures every node as insecure with cluster size ${clusterSize}`, () => {
    for (const [name, spec] of stores) {
      const env = environment(spec);
      expect(env.get('KURRENTDB_INSECURE'), name).toBe('true');
      expect(env.get('KURRENTDB_CLUSTER_SIZE'), name).toBe(clusterSize);
    }
  });

  if (storeCount > 1) {
    it('gives each node gossip seeds naming exactly the other nodes', () => {
      for (const [name, spec] of stores) {
        const env = environment(spec);
        const seeds = (env.get('KURRENTDB_GOSSIP_SEED') ?? '').split(',').map((seed) => seed.trim());
        const expected = storeNames.filter((other) => other !== name).map((other) => `${other}:${KURRENTDB_PORT}`);
        expect(seeds.sort(), name).toEqual(expected);
        // Seeds are used only when DNS discovery is off.
        expect(env.get('KURRENTDB_DISCOVER_VIA_DNS'), name).toBe('false');
        // Replication binds to loopback by default, where the other nodes cannot reach it.
        expect(env.get('KURRENTDB_REPLICATION_IP') ?? '0.0.0.0', name).not.toMatch(/^127\./);
        // Gossip must advertise names that resolve on the Compose network: the node's own.
        for (const key of ['KURRENTDB_NODE_HOST_ADVERTISE_AS', 'KURRENTDB_REPLICATION_HOST_ADVERTISE_AS']) {
          if (env.has(key)) expect(env.get(key), `${name} ${key}`).toBe(name);
        }
      }
    });
  }

  it('gives every node a health check on /health/live and its own named data volume', () => {
    const declared = declaredVolumes(compose);
    const dataVolumes = new Set<string>();
    for (const [name, spec] of stores) {
      const check = healthcheckText(spec, name);
      expect(check).toContain('/health/live');
      expect(check).toContain(String(KURRENTDB_PORT));
      const data = mounts(spec).find((mount) => mount.target === KURRENTDB_DATA);
      expect(data?.named, `${name} mounts a named volume at ${KURRENTDB_DATA}`).toBe(true);
      for (const mount of mounts(spec).filter((m) => m.named)) {
        expect(declared.has(mount.source ?? ''), `${name}: volume ${mount.source} is declared under volumes`).toBe(true);
      }
      dataVolumes.add(data?.source ?? '');
    }
    expect(dataVolumes.size, 'one data volume per node').toBe(stores.size);
  });

  it('builds the telemetry service from this repository with its Dockerfile', () => {
    const build = telemetry['build'];
    const context = isMap(build) ? String(build['context'] ?? '.') : String(build);
    const dockerfile = isMap(build) ? String(build['dockerfile'] ?? 'Dockerfile') : 'Dockerfile';
    expect(context).toBe('.');
    expect(dockerfile).toBe('Dockerfile');
    expect(existsSync(new URL(dockerfile, ROOT))).toBe(true);
  });

  it('sets the EventStoreDB store and binds every interface', () => {
    expect(telemetryEnv.get('TELEMETRY_STORE')).toBe('eventstoredb');
    expect(telemetryEnv.get('TELEMETRY_HOST')).toBe('0.0.0.0');
  });

  it('keeps authentication on: tokens come from the data volume, as docs/deployment.md shows how to mint them', () => {
    expect(telemetryEnv.get('TELEMETRY_AUTH') ?? 'on').toBe('on');
    expect(telemetryEnv.get('TELEMETRY_TOKENS_FILE')).toBeUndefined(); // the default: <data dir>/tokens.json, on the volume
    expect(readText('docs/deployment.md')).toContain('node dist/src/tools/token.js --fleet');
  });

  it('publishes the ingest and REST ports, the ones the service listens on', () => {
    const published = publishedContainerPorts(telemetry);
    for (const port of SERVICE_PORTS) expect(published).toContain(port);
    if (telemetryEnv.has('TELEMETRY_INGEST_PORT')) expect(Number(telemetryEnv.get('TELEMETRY_INGEST_PORT'))).toBe(8000);
    if (telemetryEnv.has('TELEMETRY_HTTP_PORT')) expect(Number(telemetryEnv.get('TELEMETRY_HTTP_PORT'))).toBe(8080);
  });

  it('connects to exactly the store services of this file, on 2113, without TLS', () => {
    const connection = parseEsdb(telemetryEnv.get('EVENTSTORE_CONNECTION_STRING') ?? '');
    expect(connection.hosts.map((h) => h.host).sort()).toEqual(storeNames);
    for (const { port } of connection.hosts) expect(port).toBe(KURRENTDB_PORT);
    expect(connection.params.get('tls')).toBe('false');
  });

  it('starts only once every store node is healthy', () => {
    const deps = dependsOn(telemetry);
    for (const name of storeNames) expect(deps.get(name), name).toBe('service_healthy');
  });

  it('keeps the service data dir in a declared named volume, with a health check and a restart policy', () => {
    const data = mounts(telemetry).find((mount) => mount.target === TELEMETRY_DATA);
    expect(data?.named).toBe(true);
    expect(declaredVolumes(compose).has(data?.source ?? '')).toBe(true);
    if (telemetryEnv.has('TELEMETRY_DATA_DIR')) expect(telemetryEnv.get('TELEMETRY_DATA_DIR')).toBe(TELEMETRY_DATA);
    const check = healthcheckText(telemetry, TELEMETRY_SERVICE);
    expect(check).toContain('/healthz');
    expect(check).toContain('8080');
    expect(telemetry['restart']).toBe('unless-stopped');
  });

  it('sets only environment variables that the service reads', () => {
    const known = knownVariables();
    for (const key of telemetryEnv.keys()) expect(known, `${key} is read by the service`).toContain(key);
  });

  it('publishes exactly the ports the image exposes', () => {
    expect(runtimeStage).toBeDefined();
    const exposed = argsOf(runtimeStage!, 'EXPOSE').flatMap((args) => args.split(/\s+/)).map((p) => Number(p.split('/')[0]));
    expect(exposed.sort()).toEqual([...publishedContainerPorts(telemetry)].sort());
  });
});

describe('the two Compose files together', () => {
  const single = loadCompose('docker-compose.yml');
  const cluster = loadCompose('docker-compose.cluster.yml');

  it('use the same KurrentDB image', () => {
    const image = (compose: YamlMap, file: string) => new Set([...storeServices(compose, file).values()].map((s) => s['image']));
    expect(image(cluster, 'docker-compose.cluster.yml')).toEqual(image(single, 'docker-compose.yml'));
  });

  it('are separate Compose projects, so their volumes never mix', () => {
    expect(typeof single['name']).toBe('string');
    expect(typeof cluster['name']).toBe('string');
    expect(single['name']).not.toBe(cluster['name']);
  });
});

describe('Dockerfile', () => {
  it('builds in a separate stage on Node 20 and runs from node:20 too', () => {
    expect(dockerfileStages.length).toBeGreaterThanOrEqual(2);
    const stageNames = new Set(dockerfileStages.map((stage) => stage.name));
    for (const stage of dockerfileStages) {
      if (!stageNames.has(stage.image)) expect(stage.image).toMatch(/^node:20(?:[.-]|$)/);
    }
    expect(runtimeStage?.image).toMatch(/^node:20(?:[.-]|$)/);
  });

  it('installs, compiles and drops devDependencies before the runtime stage', () => {
    const runs = dockerfileStages.slice(0, -1).flatMap((stage) => argsOf(stage, 'RUN')).join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm run build\b/);
    expect(runs).toMatch(/npm (prune|ci) [^\n]*--omit=dev/);
    const runtimeRuns = argsOf(runtimeStage!, 'RUN').join('\n');
    expect(runtimeRuns, 'the runtime stage installs nothing').not.toMatch(/npm (ci|install)|apt-get install/);
  });

  it('starts dist/src/cli.js with node', () => {
    const start = [...argsOf(runtimeStage!, 'ENTRYPOINT'), ...argsOf(runtimeStage!, 'CMD')].flatMap(words);
    expect(start).toContain('node');
    expect(start).toContain('dist/src/cli.js');
  });

  it('checks health on /healthz, port 8080', () => {
    const [check = ''] = argsOf(runtimeStage!, 'HEALTHCHECK').slice(-1);
    expect(check).not.toMatch(/^NONE\b/);
    expect(check).toContain('/healthz');
    expect(check).toContain('8080');
  });

  it('runs as a non-root user, stops on SIGTERM and keeps data in a volume', () => {
    const [user = 'root'] = argsOf(runtimeStage!, 'USER').slice(-1);
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(argsOf(runtimeStage!, 'STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(argsOf(runtimeStage!, 'VOLUME').join(' ')).toContain(TELEMETRY_DATA);
  });

  it('sets only environment variables that the service reads', () => {
    const known = knownVariables();
    const set = argsOf(runtimeStage!, 'ENV').flatMap((args) => args.match(/\b(?:TELEMETRY|EVENTSTORE)_[A-Z_]+(?==)/g) ?? []);
    expect(set.length).toBeGreaterThan(0);
    for (const key of set) expect(known, `${key} is read by the service`).toContain(key);
  });
});

describe('.dockerignore', () => {
  const ignore = readText('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const reincluded = new Set(ignore.filter((line) => line.startsWith('!')).map((line) => line.slice(1).replace(/\/$/, '')));

  it('lets in every file the Dockerfile copies from the context, and no host node_modules, dist or data', () => {
    expect(ignore[0], 'an allow-list: everything is excluded first').toBe('*');
    const sources = dockerfileStages
      .flatMap((stage) => stage.instructions)
      .filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))
      .flatMap((i) => i.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(reincluded, `${source} reaches the build`).toContain(source.replace(/\/$/, ''));
    for (const excluded of ['node_modules', 'dist', 'data', '.git']) expect(reincluded).not.toContain(excluded);
  });
});
