// The fleet page: the robots table, tracks over a time range drawn as SVG, and live positions from
// the service's Server-Sent Events feed. Plain browser JavaScript, no framework, no network beyond
// this service. Numbers a test needs (points drawn, odometer shown) are set on the DOM from what
// was actually drawn, as data-* attributes.

const TOKEN_KEY = 'telemetry-read-token';
const PAGE_LIMIT = 10000;
// A browser tab cannot hold unbounded tracks: past this many points per robot the track stops
// and the page says so.
const MAX_POINTS = 100000;
const COLOURS = ['#1f6feb', '#d1242f', '#1a7f37', '#bf8700', '#8250df', '#0a7ea4', '#cf222e', '#57606a'];
const SVG_NS = 'http://www.w3.org/2000/svg';
const PLOT = { width: 760, height: 520, left: 64, right: 16, top: 16, bottom: 44 };

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? '',
  /** name → summary, as GET /api/robots answers. */
  robots: new Map(),
  selected: new Set(),
  /** The range last drawn: null bounds are open. */
  range: { start: null, end: null },
  /** name → { points: [x, y, t][], odometer, truncated, complete, busy, again } */
  tracks: new Map(),
  source: null,
};

/** An error answered by the service as JSON {statusCode, code, error, message}. */
class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code ? body.code : `HTTP_${status}`;
  }
}

function showError(error) {
  const box = $('error');
  if (error === null) {
    box.hidden = true;
    box.textContent = '';
    delete box.dataset.code;
    return;
  }
  let text = error instanceof ApiError ? `${error.status} ${error.code}: ${error.message}` : String(error.message ?? error);
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    text += '\nEnter a read token above (it is kept for this browser tab only).';
  }
  box.textContent = text;
  box.dataset.code = error.code ?? '';
  box.hidden = false;
}

async function api(path) {
  const headers = { accept: 'application/json' };
  if (state.token !== '') headers.authorization = `Bearer ${state.token}`;
  const response = await fetch(path, { headers });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return { body, link: response.headers.get('link') };
}

function nextLink(link) {
  if (link === null) return null;
  const match = /<([^>]+)>\s*;\s*rel="next"/.exec(link);
  return match === null ? null : match[1];
}

function rangeQuery(start, end) {
  const parts = [];
  if (start !== null) parts.push(`start_time=${start}`);
  if (end !== null) parts.push(`end_time=${end}`);
  return parts.join('&');
}

/** Every event of `name` in [start, end], following rel="next", at most `room` of them. */
async function fetchEvents(name, start, end, room) {
  let url = `/api/robots/${encodeURIComponent(name)}/events?${rangeQuery(start, end)}&limit=${Math.min(PAGE_LIMIT, room)}`;
  const points = [];
  let truncated = false;
  while (url !== null) {
    const { body, link } = await api(url);
    for (const event of body) points.push([event.x, event.y, event.timestamp]);
    url = nextLink(link);
    if (url !== null && points.length >= room) {
      truncated = true;
      break;
    }
  }
  return { points: points.slice(0, room), truncated: truncated || points.length > room };
}

async function fetchOdometer(name, start, end) {
  const { body } = await api(`/api/robots/${encodeURIComponent(name)}/odometer?${rangeQuery(start, end)}`);
  return body.odometer;
}

// ---- robots table ----

function formatNumber(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function formatOdometer(value) {
  return value.toFixed(3);
}

function rowOf(name) {
  return document.querySelector(`tr[data-robot="${CSS.escape(name)}"]`);
}

function renderRow(summary) {
  let row = rowOf(summary.name);
  if (row === null) {
    row = document.createElement('tr');
    row.dataset.robot = summary.name;
    row.dataset.testid = 'robot-row';
    const pick = document.createElement('td');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.dataset.testid = 'robot-select';
    box.setAttribute('aria-label', `select ${summary.name}`);
    box.addEventListener('change', () => toggle(summary.name, box.checked));
    pick.append(box);
    const name = document.createElement('td');
    name.textContent = summary.name;
    row.append(pick, name);
    for (const field of ['odometer', 'position', 'time', 'count']) {
      const cell = document.createElement('td');
      cell.dataset.field = field;
      if (field !== 'position') cell.className = 'num';
      row.append(cell);
    }
    insertSorted($('robots'), row, summary.name);
  }
  row.querySelector('[data-field="odometer"]').textContent = formatOdometer(summary.odometer);
  row.querySelector('[data-field="position"]').textContent = `${formatNumber(summary.last_x)}, ${formatNumber(summary.last_y)}`;
  const time = row.querySelector('[data-field="time"]');
  time.textContent = String(summary.last_timestamp);
  time.title = new Date(summary.last_timestamp).toISOString();
  row.querySelector('[data-field="count"]').textContent = String(summary.event_count);
  row.dataset.lastTimestamp = String(summary.last_timestamp);
  $('robot-count').textContent = `(${state.robots.size})`;
}

function insertSorted(body, row, name) {
  for (const other of body.children) {
    if (other.dataset.robot > name) {
      body.insertBefore(row, other);
      return;
    }
  }
  body.append(row);
}

async function loadRobots() {
  const { body } = await api('/api/robots');
  state.robots.clear();
  $('robots').replaceChildren();
  for (const summary of body) state.robots.set(summary.name, summary);
  for (const summary of body) renderRow(summary);
  $('robot-count').textContent = `(${state.robots.size})`;
}

function toggle(name, on) {
  if (on) state.selected.add(name);
  else state.selected.delete(name);
  rowOf(name)?.classList.toggle('selected', on);
  updateRangeHint();
}

function updateRangeHint() {
  const hint = $('range-hint');
  const chosen = [...state.selected].map((name) => state.robots.get(name)).filter(Boolean);
  if (chosen.length === 0) {
    hint.textContent = 'Select robots; an empty bound is open (the robots\u2019 full range, live).';
    $('range-start').placeholder = '';
    $('range-end').placeholder = '';
    return;
  }
  const first = Math.min(...chosen.map((s) => s.first_timestamp));
  const last = Math.max(...chosen.map((s) => s.last_timestamp));
  $('range-start').placeholder = String(first);
  $('range-end').placeholder = `${last} (live)`;
  hint.textContent = `Full range ${first} \u2013 ${last} ms; an empty bound is open, and an open end follows new positions live.`;
}

// ---- tracks ----

function readBound(input) {
  const raw = input.value.trim();
  if (raw === '') return null;
  if (!/^[0-9]{1,16}$/.test(raw) || Number(raw) > Number.MAX_SAFE_INTEGER) {
    throw new Error(`${input.id === 'range-start' ? 'From' : 'To'} must be a whole number of milliseconds, got "${raw}"`);
  }
  return Number(raw);
}

async function drawSelected() {
  let start;
  let end;
  try {
    start = readBound($('range-start'));
    end = readBound($('range-end'));
  } catch (error) {
    showError(error);
    return;
  }
  if (start !== null && end !== null && start > end) [start, end] = [end, start];
  showError(null);
  state.range = { start, end };
  const names = [...state.selected].sort();
  const plot = $('plot');
  plot.dataset.state = 'loading';
  try {
    const loaded = await Promise.all(
      names.map(async (name) => {
        const [events, odometer] = await Promise.all([fetchEvents(name, start, end, MAX_POINTS), fetchOdometer(name, start, end)]);
        const known = state.robots.get(name);
        const complete = end !== null && known !== undefined && known.last_timestamp >= end;
        return [name, { points: events.points, truncated: events.truncated, odometer, complete, busy: false, again: false }];
      }),
    );
    state.tracks = new Map(loaded);
    render();
  } catch (error) {
    showError(error);
    plot.dataset.state = 'error';
  }
}

/** A live position of a drawn robot: fetch what it added inside the range, then redraw. */
async function extendTrack(name) {
  const track = state.tracks.get(name);
  if (track === undefined) return;
  if (track.busy) {
    track.again = true;
    return;
  }
  track.busy = true;
  try {
    do {
      track.again = false;
      const { start, end } = state.range;
      const last = track.points.length > 0 ? track.points[track.points.length - 1][2] : null;
      const from = last === null ? start : Math.max(last + 1, start ?? 0);
      if (end !== null && from !== null && from > end) break;
      const room = MAX_POINTS - track.points.length;
      if (room <= 0) {
        track.truncated = true;
        break;
      }
      const added = await fetchEvents(name, from, end, room);
      const odometer = await fetchOdometer(name, start, end);
      if (state.tracks.get(name) !== track) return; // redrawn meanwhile
      for (const point of added.points) track.points.push(point);
      // Once the robot has moved past a closed range's end, nothing more can fall inside it.
      const known = state.robots.get(name);
      if (end !== null && known !== undefined && known.last_timestamp >= end) track.complete = true;
      track.truncated = track.truncated || added.truncated;
      track.odometer = odometer;
      render();
    } while (track.again);
  } catch (error) {
    showError(error);
  } finally {
    track.busy = false;
  }
}

function niceStep(span, count) {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled >= 5 ? 10 : scaled >= 2 ? 5 : scaled >= 1 ? 2 : 1) * power;
}

function svg(tag, attributes, parent) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  parent?.append(node);
  return node;
}

function tickLabel(value, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return value.toFixed(Math.min(decimals, 10));
}

/** Draws every loaded track on one plane, auto-scaled with equal units on both axes. */
function render() {
  const plot = $('plot');
  const legend = $('legend');
  const tracks = [...state.tracks.entries()];
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [, track] of tracks) {
    for (const [x, y] of track.points) {
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  if (minX === Infinity) {
    minX = 0; maxX = 1; minY = 0; maxY = 1;
  }
  // Equal scale on both axes keeps the shapes (and distances) true; pad a degenerate span.
  const innerW = PLOT.width - PLOT.left - PLOT.right;
  const innerH = PLOT.height - PLOT.top - PLOT.bottom;
  let spanX = maxX - minX || 1;
  let spanY = maxY - minY || 1;
  const scale = Math.min(innerW / spanX, innerH / spanY) * 0.94;
  spanX = innerW / scale;
  spanY = innerH / scale;
  const x0 = (minX + maxX) / 2 - spanX / 2;
  const y0 = (minY + maxY) / 2 - spanY / 2;
  const px = (x) => PLOT.left + (x - x0) * scale;
  const py = (y) => PLOT.top + innerH - (y - y0) * scale;

  const root = svg('svg', { viewBox: `0 0 ${PLOT.width} ${PLOT.height}`, role: 'img', 'aria-label': 'robot tracks', 'data-testid': 'plot-svg' });
  const grid = svg('g', { class: 'grid' }, root);
  const axes = svg('g', { class: 'axis' }, root);
  const step = niceStep(Math.max(spanX, spanY), 6);
  for (let v = Math.ceil(x0 / step) * step; v <= x0 + spanX + 1e-9; v += step) {
    const x = px(v);
    svg('line', { x1: x, x2: x, y1: PLOT.top, y2: PLOT.top + innerH }, grid);
    svg('line', { x1: x, x2: x, y1: PLOT.top + innerH, y2: PLOT.top + innerH + 5 }, axes);
    svg('text', { x, y: PLOT.top + innerH + 18, 'text-anchor': 'middle' }, axes).textContent = tickLabel(v, step);
  }
  for (let v = Math.ceil(y0 / step) * step; v <= y0 + spanY + 1e-9; v += step) {
    const y = py(v);
    svg('line', { x1: PLOT.left, x2: PLOT.left + innerW, y1: y, y2: y }, grid);
    svg('line', { x1: PLOT.left - 5, x2: PLOT.left, y1: y, y2: y }, axes);
    svg('text', { x: PLOT.left - 8, y: y + 4, 'text-anchor': 'end' }, axes).textContent = tickLabel(v, step);
  }
  svg('rect', { x: PLOT.left, y: PLOT.top, width: innerW, height: innerH, fill: 'none', stroke: '#5c6670' }, axes);
  svg('text', { x: PLOT.left + innerW / 2, y: PLOT.height - 6, 'text-anchor': 'middle' }, axes).textContent = 'x (robot units)';
  svg('text', { x: 14, y: PLOT.top + innerH / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${PLOT.top + innerH / 2})` }, axes).textContent = 'y (robot units)';

  legend.replaceChildren();
  const notes = [];
  tracks.forEach(([name, track], index) => {
    const colour = COLOURS[index % COLOURS.length];
    let d = '';
    for (const [x, y] of track.points) d += `${d === '' ? 'M' : 'L'}${px(x).toFixed(2)},${py(y).toFixed(2)}`;
    const path = svg('path', { class: 'track', d, stroke: colour, 'data-testid': 'track', 'data-robot': name, 'data-points': track.points.length }, root);
    if (track.points.length > 0) {
      const [lx, ly, lt] = track.points[track.points.length - 1];
      path.setAttribute('data-last-timestamp', String(lt));
      svg('circle', { cx: px(lx), cy: py(ly), r: 4, fill: colour, 'data-testid': 'track-head', 'data-robot': name }, root);
    }
    const item = document.createElement('li');
    item.dataset.testid = 'legend-item';
    item.dataset.robot = name;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colour;
    const label = document.createElement('span');
    label.textContent = `${name}: ${track.points.length} points, odometer `;
    const odometer = document.createElement('strong');
    odometer.dataset.testid = 'range-odometer';
    odometer.dataset.robot = name;
    odometer.dataset.odometer = String(track.odometer);
    odometer.textContent = formatOdometer(track.odometer);
    item.append(swatch, label, odometer);
    legend.append(item);
    if (track.truncated) notes.push(`${name}: only the first ${track.points.length} points of the range are drawn (at most ${MAX_POINTS} per robot).`);
  });
  plot.replaceChildren(root);
  plot.dataset.state = 'drawn';
  plot.dataset.tracks = String(tracks.length);
  const { start, end } = state.range;
  const shown = `Range ${start ?? 'first event'} \u2013 ${end ?? 'latest (live)'} ms.`;
  $('track-note').textContent = [shown, ...notes].join(' ');
}

// ---- live feed ----

function setLive(stateName, text) {
  const status = $('live-status');
  status.dataset.state = stateName;
  status.textContent = `live: ${text}`;
}

function connectLive() {
  state.source?.close();
  const url = state.token === '' ? '/api/live' : `/api/live?token=${encodeURIComponent(state.token)}`;
  const source = new EventSource(url);
  state.source = source;
  setLive('connecting', 'connecting');
  source.addEventListener('open', () => setLive('open', 'on'));
  source.addEventListener('position', (message) => {
    const summary = JSON.parse(message.data);
    state.robots.set(summary.name, summary);
    renderRow(summary);
    if (state.selected.has(summary.name)) updateRangeHint();
    const track = state.tracks.get(summary.name);
    if (track !== undefined && !track.complete) void extendTrack(summary.name);
  });
  source.addEventListener('error', () => {
    if (source !== state.source) return;
    // An EventSource cannot read an error body: ask the REST API with the same token to say why.
    setLive('error', source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting');
    if (source.readyState === EventSource.CLOSED) api('/api/robots').catch(showError);
  });
}

// ---- start ----

async function start() {
  $('token').value = state.token;
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    state.token = $('token').value.trim();
    if (state.token === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, state.token);
    void boot();
  });
  $('range-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void drawSelected();
  });
  await boot();
}

async function boot() {
  showError(null);
  try {
    await loadRobots();
    for (const name of [...state.selected]) {
      if (!state.robots.has(name)) state.selected.delete(name);
      else rowOf(name).querySelector('input').checked = true;
    }
    updateRangeHint();
    document.body.dataset.ready = 'true';
  } catch (error) {
    showError(error);
  }
  connectLive();
}

void start();
