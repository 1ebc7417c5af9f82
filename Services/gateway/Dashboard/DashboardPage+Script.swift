extension DashboardPage {
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

          // Tasks per agent (running, queued) and finished per pool in the last minute, from the
          // task list (at most 1000 of each kind: a dashboard, not an accounting).
          function taskFigures(running, queued, recent) {
            const perAgent = new Map();
            const count = (list, field) => {
              for (const task of list) {
                const entry = perAgent.get(task.agent_id) || { running: 0, queued: 0 };
                entry[field] += 1;
                perAgent.set(task.agent_id, entry);
              }
            };
            count(running, 'running');
            count(queued, 'queued');
            const perPool = new Map();
            const since = Date.now() + clockOffset - 60000;
            for (const task of recent) {
              const finished = Date.parse(task.finished_at || '');
              if (!Number.isNaN(finished) && finished >= since) perPool.set(task.pool_name, (perPool.get(task.pool_name) || 0) + 1);
            }
            const poolQueued = new Map();
            for (const task of queued) poolQueued.set(task.pool_name, (poolQueued.get(task.pool_name) || 0) + 1);
            return { perAgent, perPool, poolQueued };
          }

          function poolCard(pool, tasks) {
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
                figure('Range', `${pool.min_workers}–${pool.max_workers}`),
                figure('Tasks/min', tasks.perPool.get(pool.pool_name) || 0),
                figure('Queued', tasks.poolQueued.get(pool.pool_name) || 0)),
              el('h4', {}, `Workers (${workers.length})`),
              workers.length
                ? el('ul', { class: 'workers' }, ...workers.map(workerItem))
                : el('p', { class: 'empty' }, 'No worker registered.'));
          }

          function renderPools(pools, tasks) {
            const container = $('pools');
            if (!pools.length) {
              container.replaceChildren(el('p', { class: 'empty' }, 'No pools are configured.'));
            } else {
              container.replaceChildren(...pools.map((pool) => poolCard(pool, tasks)));
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

          function agentRow(agent, tasks) {
            const work = tasks.perAgent.get(agent.agent_id) || { running: 0, queued: 0 };
            return el('tr', {},
              el('td', { class: 'name', 'data-label': 'Name', title: agent.agent_id }, agent.name || short(agent.agent_id)),
              el('td', { 'data-label': 'Pool' }, agent.pool_name),
              el('td', { 'data-label': 'Status' }, el('span', { class: `badge ${agent.status}` }, agent.status)),
              el('td', { 'data-label': 'Process' },
                agent.process_id ? el('code', { title: agent.process_id }, short(agent.process_id)) : '—'),
              el('td', { class: 'num', 'data-label': 'Tasks' }, `${work.running} running · ${work.queued} queued`),
              el('td', { class: 'num', 'data-label': 'Created' },
                el('time', { datetime: agent.created_at }, formatTime(agent.created_at))));
          }

          function renderAgents(agents, status, tasks) {
            const shown = agents.slice(0, AGENT_LIMIT);
            const what = status ? `${status} agents` : 'agents';
            $('agent-rows').replaceChildren(...(shown.length
              ? shown.map((agent) => agentRow(agent, tasks))
              : [el('tr', {}, el('td', { colspan: 6, class: 'empty empty-cell' }, `No ${what}.`))]));
            $('agents-summary').textContent = agents.length > shown.length
              ? `Showing the ${shown.length} most recent of ${agents.length} ${what}`
              : `${agents.length} ${what}, most recent first`;
          }

          function showPlaceholders(text) {
            $('pools').replaceChildren(el('p', { class: 'empty' }, text));
            $('agent-rows').replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'empty empty-cell' }, text)));
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
              const [pools, agents, running, queued, recent] = await Promise.all([
                api('/api/v1/agents/pools'), api('/api/v1/agents' + query),
                api('/api/v1/tasks?status=running&limit=1000'), api('/api/v1/tasks?status=queued&limit=1000'),
                api('/api/v1/tasks?limit=1000'),
              ]);
              const details = await Promise.all(pools.map((pool) =>
                api('/api/v1/agents/pools/' + encodeURIComponent(pool.pool_name))));
              if (mine !== generation) return;
              const tasks = taskFigures(running, queued, recent);
              renderPools(details, tasks);
              renderAgents(agents, status, tasks);
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
