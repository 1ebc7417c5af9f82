/// The dashboard's three files, as string literals so that the gateway stays one self-contained
/// binary: no resources, no CDN, no framework. `DashboardRoutes` serves them.
///
/// The page holds no data. Its script polls `/api/v1` every 2 s and builds the DOM with
/// `createElement` and `textContent` only, so no value from the API is ever parsed as HTML.
/// The API key is asked for when the API answers 401 and kept in `sessionStorage` (this tab
/// only); it travels as `Authorization: Bearer`, never in a URL. A key may be handed over as
/// `/dashboard#key=KEY` (what `scripts/check-dashboard` does): the fragment never reaches the
/// server, and the script removes it from the address bar at once with `history.replaceState`.
enum DashboardPage {
    /// The HTML shell: landmarks, the key prompt, the error banner and empty containers.
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <meta name="referrer" content="no-referrer">
        <title>AgentPool dashboard</title>
        <link rel="stylesheet" href="/dashboard/app.css">
        <script src="/dashboard/app.js" defer></script>
        </head>
        <body data-state="loading">
        <header class="top">
          <div class="brand">
            <h1>AgentPool</h1>
            <p class="muted">Pools, workers and agents, live</p>
          </div>
          <div class="meta">
            <p class="updated"><span class="pulse" aria-hidden="true"></span>Last updated <time id="updated">never</time></p>
            <button type="button" id="forget" class="link" hidden>Forget API key</button>
          </div>
        </header>
        <div id="banner" class="banner" role="alert" hidden></div>
        <section id="key-prompt" class="prompt" aria-labelledby="key-title" hidden>
          <h2 id="key-title">API key required</h2>
          <p id="key-hint">This gateway needs an API key. It is kept in this browser tab only and sent as a Bearer token.</p>
          <form id="key-form">
            <label for="key-input">API key</label>
            <div class="key-row">
              <input id="key-input" name="key" type="password" autocomplete="off" spellcheck="false" required>
              <button type="submit">Connect</button>
            </div>
          </form>
        </section>
        <main id="content">
          <section aria-labelledby="pools-title">
            <div class="section-head">
              <h2 id="pools-title">Pools</h2>
              <p id="pools-summary" class="muted"></p>
            </div>
            <div id="pools" class="grid"><p class="empty">Loading…</p></div>
          </section>
          <section aria-labelledby="agents-title">
            <div class="section-head">
              <h2 id="agents-title">Agents</h2>
              <p id="agents-summary" class="muted"></p>
              <label class="filter">Status
                <select id="status-filter">
                  <option value="running" selected>running</option>
                  <option value="">all</option>
                  <option value="pending">pending</option>
                  <option value="starting">starting</option>
                  <option value="stopping">stopping</option>
                  <option value="terminated">terminated</option>
                  <option value="failed">failed</option>
                </select>
              </label>
            </div>
            <div class="table-wrap">
              <table class="agents">
                <caption class="visually-hidden">Agents, most recent first</caption>
                <thead><tr><th scope="col">Name</th><th scope="col">Pool</th><th scope="col">Status</th><th scope="col">Process</th><th scope="col">Created</th></tr></thead>
                <tbody id="agent-rows"><tr><td colspan="5" class="empty empty-cell">Loading…</td></tr></tbody>
              </table>
            </div>
          </section>
        </main>
        <footer class="muted">Refreshes every 2 seconds from <code>/api/v1</code>.</footer>
        </body>
        </html>
        """#

    /// The style: light and dark through `prefers-color-scheme`, pool cards in a grid on wide
    /// screens and one column (agents as stacked rows) on phones.
    static let css = #"""
        :root {
          color-scheme: light dark;
          --bg: #f4f6f9; --surface: #ffffff; --text: #18202b; --muted: #566171; --border: #d8dee6;
          --track: #e4e9f0; --accent: #2456c4; --mid: #b26b00; --high: #c0271c;
          --ok: #17713a; --ok-bg: #e3f4e8; --info: #1d4fae; --info-bg: #e4ecfb; --warn: #8a5300;
          --warn-bg: #fcf0dc; --bad: #a8231a; --bad-bg: #fbe5e3; --off: #4e5968; --off-bg: #eceff3;
          --shadow: 0 1px 2px rgb(16 24 40 / 6%), 0 1px 3px rgb(16 24 40 / 8%);
          --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #0e131a; --surface: #161d26; --text: #e5eaf1; --muted: #9ba7b6; --border: #2a3441;
            --track: #27313d; --accent: #6f9dff; --mid: #f0a73a; --high: #ff7468;
            --ok: #6fdc95; --ok-bg: #15321f; --info: #93b6ff; --info-bg: #1a2845; --warn: #f3bf62;
            --warn-bg: #3a2b10; --bad: #ff9a90; --bad-bg: #401a17; --off: #b3bdc9; --off-bg: #252d38;
            --shadow: none;
          }
        }
        * { box-sizing: border-box; }
        html { -webkit-text-size-adjust: 100%; }
        body {
          margin: 0; background: var(--bg); color: var(--text); line-height: 1.45;
          font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
        }
        body > * { max-width: 1440px; margin-left: auto; margin-right: auto; }
        h1, h2, h3, h4, p { margin: 0; }
        code { font-family: var(--mono); font-size: .92em; }
        .muted { color: var(--muted); }
        .visually-hidden {
          position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
        }
        button, input, select { font: inherit; color: inherit; }
        :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }

        .top {
          display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: center; justify-content: space-between;
          padding: 1.25rem 1.5rem .75rem;
        }
        .brand h1 { font-size: 1.5rem; letter-spacing: -.01em; }
        .brand p { font-size: .9rem; }
        .meta { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; }
        .updated { font-size: .9rem; color: var(--muted); display: flex; align-items: center; gap: .45rem; }
        .updated time { color: var(--text); font-variant-numeric: tabular-nums; }
        .pulse { width: .6rem; height: .6rem; border-radius: 50%; background: var(--off); }
        [data-state="ok"] .pulse { background: var(--ok); }
        [data-state="error"] .pulse { background: var(--high); }
        button.link {
          background: none; border: 0; padding: .25rem 0; color: var(--accent); text-decoration: underline; cursor: pointer;
          font-size: .9rem;
        }

        .banner {
          margin: 0 1.5rem 1rem; padding: .75rem 1rem; border-radius: 8px; border: 1px solid var(--bad);
          background: var(--bad-bg); color: var(--bad); font-weight: 500;
        }
        .banner[hidden], [hidden] { display: none !important; }

        .prompt {
          margin: 1rem 1.5rem; padding: 1.25rem 1.5rem; max-width: 34rem; background: var(--surface);
          border: 1px solid var(--border); border-radius: 10px; box-shadow: var(--shadow);
        }
        .prompt h2 { font-size: 1.15rem; margin-bottom: .35rem; }
        .prompt p { color: var(--muted); margin-bottom: 1rem; }
        .prompt p.refused { color: var(--bad); }
        .prompt label { display: block; font-weight: 600; margin-bottom: .35rem; }
        .key-row { display: flex; gap: .5rem; }
        .key-row input {
          flex: 1; min-width: 0; padding: .55rem .7rem; border: 1px solid var(--border); border-radius: 6px;
          background: var(--bg);
        }
        .key-row button {
          padding: .55rem 1rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent);
          color: #fff; font-weight: 600; cursor: pointer;
        }
        @media (prefers-color-scheme: dark) { .key-row button { color: #0e131a; } }

        main { padding: 0 1.5rem 1rem; }
        main > section { margin-bottom: 2rem; }
        .section-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .35rem 1rem; margin-bottom: .85rem; }
        .section-head h2 { font-size: 1.2rem; }
        .section-head p { font-size: .9rem; flex: 1; }
        .filter { font-size: .9rem; color: var(--muted); display: flex; align-items: center; gap: .5rem; }
        select {
          padding: .3rem .5rem; border: 1px solid var(--border); border-radius: 6px; background: var(--surface); color: var(--text);
        }
        .empty { color: var(--muted); padding: 1rem 0; }

        .grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(min(100%, 400px), 1fr)); }
        .card {
          background: var(--surface); border: 1px solid var(--border); border-radius: 10px; padding: 1rem 1.1rem;
          box-shadow: var(--shadow); min-width: 0;
        }
        .card-head { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem; margin-bottom: .7rem; }
        .card-head h3 { font-size: 1.05rem; font-family: var(--mono); overflow-wrap: anywhere; }
        .role { font-size: .8rem; color: var(--muted); white-space: nowrap; }
        .bar { position: relative; height: .55rem; border-radius: 99px; background: var(--track); overflow: hidden; }
        .bar.big { height: .8rem; }
        .bar .fill { position: absolute; inset: 0 auto 0 0; border-radius: inherit; background: var(--accent); }
        .bar.mid .fill { background: var(--mid); }
        .bar.high .fill { background: var(--high); }
        .bar-caption {
          display: flex; justify-content: space-between; gap: .5rem; font-size: .85rem; color: var(--muted);
          margin-top: .35rem; font-variant-numeric: tabular-nums;
        }
        .bar-caption strong { color: var(--text); }
        .figures {
          display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: .5rem; margin: .9rem 0 0;
          padding: .7rem 0; border-top: 1px solid var(--border); border-bottom: 1px solid var(--border);
        }
        .figures div { min-width: 0; }
        .figures dt { font-size: .72rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
        .figures dd { margin: 0; font-size: 1.15rem; font-weight: 600; font-variant-numeric: tabular-nums; }
        .card h4 { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: .8rem 0 .4rem; }
        .workers { list-style: none; margin: 0; padding: 0; }
        .worker {
          display: grid; grid-template-columns: minmax(0, 1fr) 8.5rem 6.2rem; gap: .25rem .9rem; align-items: center;
          padding: .45rem 0; border-top: 1px solid var(--border); font-size: .88rem;
        }
        .worker:first-child { border-top: 0; }
        .w-id { min-width: 0; display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 .5rem; }
        .w-id .muted { font-size: .8rem; overflow-wrap: anywhere; }
        .w-slots { display: grid; grid-template-columns: 1fr 2.8rem; align-items: center; gap: .5rem; font-variant-numeric: tabular-nums; }
        .w-beat { display: flex; align-items: center; justify-content: flex-end; gap: .35rem; white-space: nowrap; font-variant-numeric: tabular-nums; }
        .dot { width: .55rem; height: .55rem; border-radius: 50%; background: var(--ok); flex: none; }
        .w-beat.late .dot { background: var(--mid); }
        .w-beat.stale .dot { background: var(--high); }

        .badge {
          display: inline-block; padding: .05rem .5rem; border-radius: 99px; font-size: .78rem; font-weight: 600;
          background: var(--off-bg); color: var(--off); white-space: nowrap;
        }
        .badge.running, .badge.ready { background: var(--ok-bg); color: var(--ok); }
        .badge.pending, .badge.starting { background: var(--info-bg); color: var(--info); }
        .badge.stopping, .badge.draining { background: var(--warn-bg); color: var(--warn); }
        .badge.failed { background: var(--bad-bg); color: var(--bad); }

        .table-wrap { background: var(--surface); border: 1px solid var(--border); border-radius: 10px; box-shadow: var(--shadow); }
        table.agents { width: 100%; border-collapse: collapse; font-size: .9rem; }
        .agents th {
          text-align: left; font-size: .75rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
          font-weight: 600; padding: .65rem 1rem; border-bottom: 1px solid var(--border);
        }
        .agents td { padding: .55rem 1rem; border-top: 1px solid var(--border); vertical-align: middle; }
        .agents tbody tr:first-child td { border-top: 0; }
        .agents td.name { font-weight: 600; overflow-wrap: anywhere; }
        .agents td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
        footer { padding: 0 1.5rem 2rem; font-size: .85rem; }

        @media (max-width: 640px) {
          .top { padding: 1rem 1rem .5rem; }
          .banner, .prompt { margin-left: 1rem; margin-right: 1rem; }
          main { padding: 0 1rem 1rem; }
          footer { padding: 0 1rem 1.5rem; }
          .section-head p { flex-basis: 100%; order: 1; }
          .figures { gap: .25rem; }
          .figures dt { font-size: .66rem; letter-spacing: .02em; }
          .figures dd { font-size: 1.05rem; }
          .worker { grid-template-columns: minmax(0, 1fr) 6rem; }
          .w-id { grid-column: 1 / -1; }
          .agents thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
          .agents, .agents tbody, .agents tr, .agents td { display: block; }
          .agents tr { padding: .6rem 1rem; border-top: 1px solid var(--border); }
          .agents tbody tr:first-child { border-top: 0; }
          .agents td { border: 0; padding: .12rem 0; display: flex; justify-content: space-between; gap: 1rem; }
          .agents td::before { content: attr(data-label); color: var(--muted); font-size: .8rem; font-weight: 400; }
          .agents td.name { font-size: 1rem; }
          .agents td.name::before { content: none; }
          .agents td.empty-cell::before { content: none; }
        }
        """#

    /// The script: polling, the key prompt and rendering.
    static let javascript = #"""
        'use strict';
        (() => {
          const POLL_MS = 2000;
          const AGENT_LIMIT = 200;
          const KEY = 'agentpool.apiKey';
          // Heartbeat ages worth a colour, from the defaults (heartbeat 30 s, stale after 300 s);
          // the API does not tell a pool's own settings.
          const LATE_S = 60;
          const STALE_S = 300;
          const $ = (id) => document.getElementById(id);
          let timer = 0;
          let generation = 0;
          let clockOffset = 0;
          let loaded = false;

          class AuthRequired extends Error {}

          // Builds an element; strings become text nodes and attributes go through setAttribute, so
          // nothing from the API is ever parsed as HTML.
          function el(tag, attrs, ...children) {
            const node = document.createElement(tag);
            for (const [name, value] of Object.entries(attrs || {})) {
              if (value === undefined || value === null || value === false) continue;
              node.setAttribute(name, String(value));
            }
            for (const child of children) {
              if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
            }
            return node;
          }

          // A key handed over as #key=... is kept for this tab and removed from the address bar.
          function adoptFragmentKey() {
            const key = new URLSearchParams(location.hash.slice(1)).get('key');
            if (key === null) return;
            if (key) sessionStorage.setItem(KEY, key);
            history.replaceState(null, '', location.pathname + location.search);
          }

          async function api(path) {
            const headers = { Accept: 'application/json' };
            const key = sessionStorage.getItem(KEY);
            if (key) headers.Authorization = 'Bearer ' + key;
            let response;
            try {
              response = await fetch(path, { headers, cache: 'no-store', credentials: 'omit' });
            } catch {
              throw new Error('The gateway is unreachable.');
            }
            // Heartbeat ages use the server's clock when the browser's is off by more than 2 s.
            const serverTime = Date.parse(response.headers.get('Date') || '');
            if (!Number.isNaN(serverTime)) {
              const offset = serverTime - Date.now();
              clockOffset = Math.abs(offset) > 2000 ? offset : 0;
            }
            if (response.status === 401) throw new AuthRequired();
            let body = null;
            try { body = await response.json(); } catch { body = null; }
            if (!response.ok) {
              const message = body && body.error && body.error.message;
              throw new Error(`The API answered ${response.status}${message ? ': ' + message : '.'}`);
            }
            return body;
          }

          function short(id) { return id ? String(id).slice(0, 8) : '—'; }

          function bar(used, total, label, size) {
            const ratio = total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
            const fill = el('span', { class: 'fill' });
            fill.style.width = (ratio * 100).toFixed(1) + '%';
            const level = ratio >= 0.9 ? 'high' : ratio >= 0.7 ? 'mid' : 'low';
            return el('div', {
              class: `bar ${size} ${level}`, role: 'progressbar', 'aria-label': label,
              'aria-valuemin': 0, 'aria-valuemax': total, 'aria-valuenow': used,
            }, fill);
          }

          function figure(label, value) {
            return el('div', {}, el('dt', {}, label), el('dd', {}, value));
          }

          function workerItem(worker) {
            const beat = Date.parse(worker.last_heartbeat);
            const age = Number.isNaN(beat) ? null : Math.max(0, Math.round((Date.now() + clockOffset - beat) / 1000));
            const freshness = age === null || age >= STALE_S ? 'stale' : age >= LATE_S ? 'late' : 'fresh';
            const slots = `${worker.agent_count}/${worker.max_agents}`;
            return el('li', { class: 'worker', 'data-process-id': worker.process_id },
              el('div', { class: 'w-id' },
                el('code', { title: worker.process_id }, short(worker.process_id)),
                worker.status === 'ready' ? null : el('span', { class: `badge ${worker.status}` }, worker.status),
                el('span', { class: 'muted' }, `pid ${worker.pid} · ${worker.host}`)),
              el('div', { class: 'w-slots' },
                bar(worker.agent_count, worker.max_agents, `Agent slots of worker ${short(worker.process_id)}`, 'small'),
                el('span', { 'aria-hidden': 'true' }, slots)),
              el('div', { class: `w-beat ${freshness}`, title: `Last heartbeat ${worker.last_heartbeat}` },
                el('span', { class: 'dot', 'aria-hidden': 'true' }),
                age === null ? 'no heartbeat' : `${age} s ago`));
          }

          function poolCard(pool) {
            const titleID = 'pool-' + pool.pool_name;
            const percent = Math.round((pool.total_capacity > 0 ? pool.used_capacity / pool.total_capacity : 0) * 100);
            const workers = (pool.workers || []).slice().sort((a, b) =>
              String(a.started_at).localeCompare(String(b.started_at)) || String(a.process_id).localeCompare(String(b.process_id)));
            return el('article', { class: 'card', 'aria-labelledby': titleID, 'data-pool': pool.pool_name },
              el('div', { class: 'card-head' },
                el('h3', { id: titleID }, pool.pool_name),
                el('span', { class: 'role' }, 'role ', el('strong', {}, pool.role))),
              bar(pool.used_capacity, pool.total_capacity, `Utilization of ${pool.pool_name}`, 'big'),
              el('p', { class: 'bar-caption' },
                el('span', {}, `${pool.used_capacity} of ${pool.total_capacity} slots used`),
                el('strong', {}, `${percent}%`)),
              el('dl', { class: 'figures' },
                figure('Agents', pool.agent_count),
                figure('Workers', pool.process_count),
                figure('Active', pool.active_worker_processes),
                figure('Desired', pool.desired_workers),
                figure('Range', `${pool.min_workers}–${pool.max_workers}`)),
              el('h4', {}, `Workers (${workers.length})`),
              workers.length
                ? el('ul', { class: 'workers' }, ...workers.map(workerItem))
                : el('p', { class: 'empty' }, 'No worker registered.'));
          }

          function renderPools(pools) {
            const container = $('pools');
            if (!pools.length) {
              container.replaceChildren(el('p', { class: 'empty' }, 'No pools are configured.'));
            } else {
              container.replaceChildren(...pools.map(poolCard));
            }
            const sum = (field) => pools.reduce((total, pool) => total + (pool[field] || 0), 0);
            $('pools-summary').textContent =
              `${pools.length} pools · ${sum('agent_count')} agents · ${sum('process_count')} workers · ` +
              `${sum('used_capacity')} of ${sum('total_capacity')} slots used`;
          }

          function formatTime(text) {
            const date = new Date(text);
            if (Number.isNaN(date.getTime())) return String(text);
            const pad = (n) => String(n).padStart(2, '0');
            return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
              `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
          }

          function agentRow(agent) {
            return el('tr', {},
              el('td', { class: 'name', 'data-label': 'Name', title: agent.agent_id }, agent.name || short(agent.agent_id)),
              el('td', { 'data-label': 'Pool' }, agent.pool_name),
              el('td', { 'data-label': 'Status' }, el('span', { class: `badge ${agent.status}` }, agent.status)),
              el('td', { 'data-label': 'Process' },
                agent.process_id ? el('code', { title: agent.process_id }, short(agent.process_id)) : '—'),
              el('td', { class: 'num', 'data-label': 'Created' },
                el('time', { datetime: agent.created_at }, formatTime(agent.created_at))));
          }

          function renderAgents(agents, status) {
            const shown = agents.slice(0, AGENT_LIMIT);
            const what = status ? `${status} agents` : 'agents';
            $('agent-rows').replaceChildren(...(shown.length
              ? shown.map(agentRow)
              : [el('tr', {}, el('td', { colspan: 5, class: 'empty empty-cell' }, `No ${what}.`))]));
            $('agents-summary').textContent = agents.length > shown.length
              ? `Showing the ${shown.length} most recent of ${agents.length} ${what}`
              : `${agents.length} ${what}, most recent first`;
          }

          function showPlaceholders(text) {
            $('pools').replaceChildren(el('p', { class: 'empty' }, text));
            $('agent-rows').replaceChildren(el('tr', {}, el('td', { colspan: 5, class: 'empty empty-cell' }, text)));
          }

          function showBanner(text) {
            const banner = $('banner');
            banner.textContent = text;
            banner.hidden = false;
          }

          function setState(state) {
            document.body.dataset.state = state;
          }

          function askForKey() {
            const refused = sessionStorage.getItem(KEY) !== null;
            sessionStorage.removeItem(KEY);
            clearTimeout(timer);
            setState('key-required');
            $('banner').hidden = true;
            $('content').hidden = true;
            $('forget').hidden = true;
            const hint = $('key-hint');
            hint.classList.toggle('refused', refused);
            hint.textContent = refused
              ? 'The gateway refused that key. Enter a valid API key.'
              : 'This gateway needs an API key. It is kept in this browser tab only and sent as a Bearer token.';
            const prompt = $('key-prompt');
            if (prompt.hidden) {
              prompt.hidden = false;
              $('key-input').focus();
            }
          }

          async function refresh() {
            clearTimeout(timer);
            const mine = ++generation;
            const status = $('status-filter').value;
            try {
              const query = status ? '?status=' + encodeURIComponent(status) : '';
              const [pools, agents] = await Promise.all([api('/api/v1/agents/pools'), api('/api/v1/agents' + query)]);
              const details = await Promise.all(pools.map((pool) =>
                api('/api/v1/agents/pools/' + encodeURIComponent(pool.pool_name))));
              if (mine !== generation) return;
              renderPools(details);
              renderAgents(agents, status);
              const now = new Date();
              const updated = $('updated');
              updated.dateTime = now.toISOString();
              updated.textContent = now.toLocaleTimeString();
              $('banner').hidden = true;
              $('key-prompt').hidden = true;
              $('content').hidden = false;
              $('forget').hidden = sessionStorage.getItem(KEY) === null;
              loaded = true;
              setState('ok');
            } catch (error) {
              if (mine !== generation) return;
              if (error instanceof AuthRequired) { askForKey(); return; }
              showBanner(`${error.message} Retrying every ${POLL_MS / 1000} s` +
                (loaded ? '; the figures shown may be out of date.' : '.'));
              if (!loaded) showPlaceholders('No data yet.');
              setState('error');
            }
            timer = setTimeout(refresh, POLL_MS);
          }

          function start() {
            adoptFragmentKey();
            $('key-form').addEventListener('submit', (event) => {
              event.preventDefault();
              const input = $('key-input');
              const key = input.value.trim();
              if (!key) return;
              sessionStorage.setItem(KEY, key);
              input.value = '';
              $('key-prompt').hidden = true;
              setState('loading');
              refresh();
            });
            $('forget').addEventListener('click', () => {
              sessionStorage.removeItem(KEY);
              refresh();
            });
            $('status-filter').addEventListener('change', refresh);
            document.addEventListener('visibilitychange', () => {
              if (!document.hidden && document.body.dataset.state !== 'key-required') refresh();
            });
            refresh();
          }

          start();
        })();
        """#
}
