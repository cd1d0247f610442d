// The dashboard: reads GET /events (server-sent events) with fetch, so the token travels as an
// Authorization header (EventSource cannot send one), and redraws in place. Every name from the
// pipeline is written with textContent or as an SVG text node's data: never parsed as markup.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const HISTORY_SECONDS = 300;
const TOKEN_KEY = 'cdc.apiToken';
const history = []; // { t, lag: {replica: s}, rate: {replica: events/s} }
let previous = null; // the last event, for rates
let scope = 'open';

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = tag.startsWith('svg:')
    ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function headers() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

function say(text) {
  $('message').textContent = text;
}

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { ...headers(), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok)
    throw new Error(
      answer.error ? `${answer.error.code}: ${answer.error.message}` : `HTTP ${response.status}`,
    );
  return answer;
}

async function act(label, method, path, body) {
  say(`${label}…`);
  try {
    await call(method, path, body);
    say(`${label}: done`);
  } catch (error) {
    say(`${label}: ${error.message}`);
  }
}

async function verify(replica) {
  say(`verify ${replica}: running…`);
  try {
    const job = await call('POST', '/jobs/verify', { replica });
    for (;;) {
      const state = await call('GET', `/jobs/${encodeURIComponent(job.id)}`);
      if (state.state === 'done') {
        say(
          `verify ${replica}: ${state.result.equal ? 'equal' : 'DIFFERENT'} (${state.result.tables.length} tables)`,
        );
        return;
      }
      if (state.state === 'failed') {
        say(`verify ${replica}: failed: ${state.error?.message ?? ''}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000)); // polling a job the server runs
    }
  } catch (error) {
    say(`verify ${replica}: ${error.message}`);
  }
}

function button(label, onClick) {
  const b = el('button', { type: 'button', class: 'admin' }, label);
  b.hidden = scope === 'read';
  b.addEventListener('click', onClick);
  return b;
}

const seconds = (ms) => (ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);

function stateCell(state) {
  return el('td', { class: `state-${state}`, 'data-state': state }, state);
}

/**
 * Who captures the source (`ha`: this process holding the lease, or standing by behind another), with
 * failover candidates which server it reads now, and a re-snapshot needed or running after a lost slot.
 */
function captureCell(c) {
  const td = el('td', { 'data-field': 'capture' });
  if (c.resnapshot) {
    const what = c.resnapshot.state === 'needed' ? 're-snapshot needed' : 're-snapshot running';
    td.append(el('div', { 'data-resnapshot': c.resnapshot.state }, `${what}: ${c.resnapshot.reason}`));
  }
  if (c.lease) {
    const l = c.lease;
    const others =
      l.members === null ? '' : ` · ${l.members} process${l.members === 1 ? '' : 'es'} in the group`;
    const holder = l.holder ? `${l.holder.host} (${l.holder.member})` : 'unknown yet';
    const text =
      l.state === 'active'
        ? `holds the lease${l.heldSince ? ` since ${new Date(l.heldSince).toLocaleTimeString()}` : ''}${others}`
        : l.state === 'standby'
          ? `standby: ${holder} holds the lease${others}`
          : 'joining the lease group';
    td.append(el('div', { 'data-lease': l.state }, text));
  }
  if (c.server) {
    const others = c.server.candidates.filter((s) => s !== c.server.current);
    td.append(
      el(
        'div',
        { 'data-server': c.server.current },
        `on ${c.server.current}${others.length > 0 ? ` (candidates: ${others.join(', ')})` : ''}`,
      ),
    );
  }
  return td;
}

function renderConnectors(connectors) {
  const body = $('connectors').tBodies[0];
  body.replaceChildren(
    ...connectors.map((c) => {
      const row = el('tr', { 'data-source': c.name });
      row.append(el('td', {}, c.name), el('td', {}, c.kind), stateCell(c.state), captureCell(c));
      row.append(el('td', {}, `${seconds(c.lagMillis)}${c.lagBytes === null ? '' : ` · ${c.lagBytes} B`}`));
      const snap = el('td');
      if (c.snapshot) {
        const share = c.snapshot.rowsTotal > 0 ? Math.min(1, c.snapshot.rowsDone / c.snapshot.rowsTotal) : 1;
        const bar = el('span', { class: 'bar' });
        bar.append(el('span', { style: `width:${Math.round(share * 100)}%` }));
        snap.append(
          bar,
          document.createTextNode(
            ` ${c.snapshot.done ? 'done' : `${c.snapshot.rowsDone}/${c.snapshot.rowsTotal}`}`,
          ),
        );
      }
      row.append(snap, el('td', { class: 'error' }, c.lastError ?? ''));
      const actions = el('td');
      const paused = c.state === 'paused';
      const path = `/connectors/${encodeURIComponent(c.name)}/${paused ? 'resume' : 'pause'}`;
      actions.append(
        button(paused ? 'Resume' : 'Pause', () =>
          act(`${paused ? 'resume' : 'pause'} ${c.name}`, 'POST', path),
        ),
        button('Snapshot', () => act(`snapshot ${c.name}`, 'POST', '/snapshots', { source: c.name })),
      );
      // The offer after a lost slot (POST /connectors/:name/resnapshot): a new slot and every table copied again.
      if (c.resnapshot?.state === 'needed')
        actions.append(
          button('Re-snapshot', () =>
            act(`re-snapshot ${c.name}`, 'POST', `/connectors/${encodeURIComponent(c.name)}/resnapshot`),
          ),
        );
      row.append(actions);
      return row;
    }),
  );
}

function renderWorkers(workers, conflicts, rates) {
  const body = $('workers').tBodies[0];
  body.replaceChildren(
    ...workers.map((w) => {
      const row = el('tr', { 'data-replica': w.name });
      row.append(el('td', {}, w.name), el('td', {}, w.source), stateCell(w.state));
      row.append(el('td', {}, `${seconds(w.endToEndLagMillis)} / ${seconds(w.hopLagMillis)}`));
      row.append(el('td', {}, w.backlogEvents ?? '–'));
      row.append(el('td', { 'data-field': 'applied' }, w.eventsApplied));
      row.append(el('td', {}, (rates[w.name] ?? 0).toFixed(1)));
      row.append(el('td', { 'data-field': 'dead-letters' }, w.deadLetters));
      row.append(el('td', {}, conflicts[w.name] ?? 0));
      row.append(el('td', { class: 'error' }, w.lastError ?? ''));
      const actions = el('td');
      const paused = w.state === 'paused';
      const path = `/workers/${encodeURIComponent(w.name)}/${paused ? 'resume' : 'pause'}`;
      actions.append(
        button(paused ? 'Resume' : 'Pause', () =>
          act(`${paused ? 'resume' : 'pause'} ${w.name}`, 'POST', path),
        ),
        button('Verify', () => verify(w.name)),
      );
      row.append(actions);
      return row;
    }),
  );
}

/** Without a configuration the API knows no databases: one node per source and per replica. */
function graphOf(event) {
  if (event.graph.nodes.length > 0) return event.graph;
  const nodes = event.connectors.map((c, i) => ({
    id: `s${i}`,
    label: c.name,
    kind: c.kind,
    region: null,
    sources: [c.name],
  }));
  const edges = [];
  event.workers.forEach((w, i) => {
    nodes.push({ id: `r${i}`, label: w.name, kind: '', region: null, sources: [] });
    const from = nodes.find((n) => n.sources.includes(w.source));
    if (from) edges.push({ replica: w.name, source: w.source, from: from.id, to: `r${i}` });
  });
  return { nodes, edges };
}

/** Columns by distance from a database nothing writes into (in a mesh, from the first). */
function layout(graph) {
  const depth = new Map();
  const roots = graph.nodes.filter((n) => !graph.edges.some((e) => e.to === n.id));
  const queue = (roots.length > 0 ? roots : graph.nodes.slice(0, 1)).map((n) => n.id);
  for (const id of queue) depth.set(id, 0);
  while (queue.length > 0) {
    const id = queue.shift();
    for (const e of graph.edges.filter((edge) => edge.from === id && !depth.has(edge.to))) {
      depth.set(e.to, depth.get(id) + 1);
      queue.push(e.to);
    }
  }
  const columns = [];
  for (const n of graph.nodes) {
    const d = depth.get(n.id) ?? 0;
    (columns[d] ??= []).push(n);
  }
  const place = new Map();
  columns.forEach((column, x) =>
    column.forEach((n, y) => place.set(n.id, { x: 20 + x * 290, y: 20 + y * 90 })),
  );
  return {
    place,
    width: 20 + columns.length * 290,
    height: 20 + Math.max(...columns.map((c) => c.length)) * 90,
  };
}

function renderGraph(event) {
  const graph = graphOf(event);
  const svg = $('graph');
  const { place, width, height } = layout(graph);
  svg.setAttribute('viewBox', `0 0 ${Math.max(width, 600)} ${Math.max(height, 120)}`);
  svg.style.height = `${Math.max(height, 120) + 20}px`;
  const W = 200;
  const H = 52;
  const parts = [];
  const defs = el('svg:defs');
  const marker = el('svg:marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto',
  });
  marker.append(el('svg:path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8796a5' }));
  defs.append(marker);
  parts.push(defs);
  for (const e of graph.edges) {
    const a = place.get(e.from);
    const b = place.get(e.to);
    if (!a || !b) continue;
    const worker = event.workers.find((w) => w.name === e.replica);
    // The way back of a pair bends the other way, so both directions stay visible.
    const back = graph.edges.some((o) => o.from === e.to && o.to === e.from) && e.from > e.to;
    const x1 = a.x + (b.x >= a.x ? W : 0);
    const x2 = b.x + (b.x > a.x ? 0 : W);
    const y1 = a.y + H / 2 + (back ? 8 : -8);
    const y2 = b.y + H / 2 + (back ? 8 : -8);
    const bend = (back ? 1 : -1) * (a.x === b.x ? 60 : 24);
    const mx = (x1 + x2) / 2 + (a.x === b.x ? bend : 0);
    const my = (y1 + y2) / 2 + bend;
    const g = el('svg:g', { class: `edge ${worker?.state ?? ''}`, 'data-replica': e.replica });
    g.append(el('svg:path', { d: `M${x1},${y1} Q${mx},${my} ${x2},${y2}`, 'marker-end': 'url(#arrow)' }));
    const label = `${e.replica} · ${seconds(worker?.hopLagMillis)}${worker?.deadLetters ? ` · ${worker.deadLetters} DLQ` : ''}`;
    g.append(el('svg:text', { x: mx, y: my - 4, 'text-anchor': 'middle' }, label));
    parts.push(g);
  }
  for (const n of graph.nodes) {
    const p = place.get(n.id);
    const g = el('svg:g', { class: 'node', transform: `translate(${p.x},${p.y})`, 'data-node': n.label });
    g.append(el('svg:rect', { width: W, height: H, rx: 6 }));
    g.append(el('svg:text', { x: 10, y: 20 }, n.label));
    const connector = event.connectors.find((c) => n.sources.includes(c.name));
    const sub = [
      n.kind,
      n.region,
      connector ? `${connector.state} ${seconds(connector.lagMillis)}` : 'replica',
    ]
      .filter(Boolean)
      .join(' · ');
    g.append(el('svg:text', { x: 10, y: 38, class: 'sub' }, sub));
    parts.push(g);
  }
  svg.replaceChildren(...parts);
}

const COLORS = ['#4c9fe8', '#3fb97f', '#e0a93b', '#c678dd', '#e5534b', '#56b6c2'];

function renderChart(id, field) {
  const svg = $(id);
  const w = 600;
  const h = 160;
  const names = [...new Set(history.flatMap((s) => Object.keys(s[field])))];
  const max = Math.max(1, ...history.flatMap((s) => Object.values(s[field])));
  const now = history.at(-1)?.t ?? Date.now();
  const x = (t) => 30 + ((t - (now - HISTORY_SECONDS * 1000)) / (HISTORY_SECONDS * 1000)) * (w - 40);
  const y = (v) => h - 20 - (v / max) * (h - 30);
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  const parts = [
    el('svg:line', { x1: 30, y1: h - 20, x2: w - 10, y2: h - 20, class: 'axis' }),
    el('svg:line', { x1: 30, y1: 10, x2: 30, y2: h - 20, class: 'axis' }),
    el(
      'svg:text',
      { x: 26, y: 14, 'text-anchor': 'end', class: 'axis-label' },
      max.toFixed(max < 10 ? 1 : 0),
    ),
    el('svg:text', { x: 26, y: h - 20, 'text-anchor': 'end', class: 'axis-label' }, '0'),
    el('svg:text', { x: 30, y: h - 6, class: 'axis-label' }, '−5 min'),
    el('svg:text', { x: w - 10, y: h - 6, 'text-anchor': 'end', class: 'axis-label' }, 'now'),
  ];
  names.forEach((name, i) => {
    const points = history
      .filter((s) => s[field][name] !== undefined)
      .map((s) => `${x(s.t).toFixed(1)},${y(s[field][name]).toFixed(1)}`);
    const color = COLORS[i % COLORS.length];
    parts.push(
      el('svg:polyline', {
        points: points.join(' '),
        fill: 'none',
        stroke: color,
        'stroke-width': 1.5,
        'data-series': name,
      }),
    );
    parts.push(el('svg:text', { x: 40 + i * 120, y: 10, fill: color, class: 'legend' }, name));
  });
  svg.replaceChildren(...parts);
}

function onStatus(event) {
  scope = event.scope;
  $('scope').textContent = event.scope === 'open' ? 'open API' : `${event.scope} token`;
  const t = Date.parse(event.time);
  const rates = {};
  for (const w of event.workers) {
    const before = previous?.workers.find((p) => p.name === w.name);
    const dt = previous ? (t - Date.parse(previous.time)) / 1000 : 0;
    rates[w.name] = before && dt > 0 ? Math.max(0, (w.eventsApplied - before.eventsApplied) / dt) : 0;
  }
  const lag = {};
  for (const w of event.workers) if (w.endToEndLagMillis !== null) lag[w.name] = w.endToEndLagMillis / 1000;
  history.push({ t, lag, rate: rates });
  while (history.length > 0 && history[0].t < t - HISTORY_SECONDS * 1000) history.shift();
  previous = event;
  renderGraph(event);
  renderConnectors(event.connectors);
  renderWorkers(event.workers, event.conflicts, rates);
  renderChart('lag-chart', 'lag');
  renderChart('rate-chart', 'rate');
  document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
}

let stream = null;

async function connect() {
  stream?.abort();
  const controller = new AbortController();
  stream = controller;
  const live = $('live');
  try {
    const response = await fetch('/events', { headers: headers(), signal: controller.signal });
    if (response.status === 401 || response.status === 403) {
      live.textContent = 'token needed';
      live.className = 'badge';
      const answer = await response.json().catch(() => ({}));
      say(answer.error?.message ?? 'this API needs a token');
      return;
    }
    live.textContent = 'live';
    live.className = 'badge live';
    say('');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (data) onStatus(JSON.parse(data));
      }
    }
  } catch (error) {
    if (controller.signal.aborted) return;
    say(`connection lost: ${error.message}`);
  }
  if (controller.signal.aborted) return;
  live.textContent = 'reconnecting…';
  live.className = 'badge';
  setTimeout(connect, 2000); // the API restarting: try again
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  $('token').value = '';
  connect();
});

connect();
