extension DashboardPage {
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
}
