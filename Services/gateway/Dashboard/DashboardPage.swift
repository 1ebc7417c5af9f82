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
                <thead><tr><th scope="col">Name</th><th scope="col">Pool</th><th scope="col">Status</th><th scope="col">Process</th><th scope="col">Tasks</th><th scope="col">Created</th></tr></thead>
                <tbody id="agent-rows"><tr><td colspan="5" class="empty empty-cell">Loading…</td></tr></tbody>
              </table>
            </div>
          </section>
        </main>
        <footer class="muted">Refreshes every 2 seconds from <code>/api/v1</code>.</footer>
        </body>
        </html>
        """#
}
