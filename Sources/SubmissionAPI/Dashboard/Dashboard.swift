import Foundation
import Hummingbird
import NIOCore

/// The web dashboard: two pages (`/` the job list, `/jobs/{id}` one job) and
/// their script and style, served by g4api with no build step. The pages
/// hold no data and need no token; the script asks for the token once per
/// browser session (sessionStorage), sends it as a bearer header on every
/// API call (never in a URL), and so sees exactly what the API lets that
/// user see. Plots are rendered on the server (SVG and PNG) and inserted as
/// they are.
enum Dashboard {
    /// The dashboard's own paths (served without a token).
    static func isPage(_ path: String) -> Bool {
        path == "/" || path.hasPrefix("/dashboard/") || (path.hasPrefix("/jobs/") && !path.dropFirst(6).contains("/"))
    }

    static func serve(_ text: String, _ type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache",
                                        .init("Content-Security-Policy")!: "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title)</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/dashboard/dashboard.css">
        </head>
        <body>
        <header><a href="/" class="home">g4</a> <span id="who"></span> <button id="logout" type="button" hidden>forget token</button></header>
        <form id="login" hidden>
          <label>API token <input id="token" type="password" autocomplete="off" size="50"></label>
          <button type="submit">use it</button>
          <p class="hint">Kept for this browser session only (g4api token create --user NAME makes one).</p>
        </form>
        <main id="main" hidden>
        \(body)
        </main>
        <p id="problem" role="alert" hidden></p>
        <script src="/dashboard/dashboard.js"></script>
        </body>
        </html>
        """
    }

    static let listPage = page(title: "g4 jobs", body: """
        <h1>Jobs</h1>
        <table id="jobs">
          <thead><tr><th>name</th><th>phase</th><th>progress</th><th>redshift</th><th>ETA</th><th>created</th></tr></thead>
          <tbody></tbody>
        </table>
        """)

    static let jobPage = page(title: "g4 job", body: """
        <h1 id="job-name"></h1>
        <section id="summary">
          <p><span id="job-phase" class="phase"></span> <span id="job-id" class="id"></span></p>
          <div class="bar"><div id="job-bar" class="fill" style="width: 0%"></div></div>
          <p><span id="job-progress">0 %</span> · z = <span id="job-redshift">–</span> · ETA <span id="job-eta">–</span> ·
             <span id="job-rate">–</span> particles/s</p>
        </section>
        <section><h2>Power spectrum</h2><div id="plot-power-spectrum" class="plot-box"></div></section>
        <section><h2>Mass function</h2><div id="plot-mass-function" class="plot-box"></div></section>
        <section><h2>Projected density, latest snapshot</h2><img id="density" alt="projected density of the latest snapshot" width="512" height="512"></section>
        <section><h2>Results</h2><table id="results"><thead><tr><th>file</th><th>size</th><th>SHA-256</th></tr></thead><tbody></tbody></table></section>
        <section><h2>Log</h2><pre id="log"></pre></section>
        <section><h2>Scheduler script</h2><pre id="script"></pre><h3>Parameter file</h3><pre id="parameter-file"></pre></section>
        """)

    static let style = """
        body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
        header { margin-bottom: 1rem; } header .home { font-weight: bold; font-size: 1.3rem; text-decoration: none; }
        table { border-collapse: collapse; } th, td { padding: 0.25rem 0.6rem; text-align: left; border-bottom: 1px solid #ddd; }
        .bar { width: 24rem; height: 0.9rem; background: #eee; border-radius: 0.3rem; overflow: hidden; }
        .fill { height: 100%; background: #3a7bd5; transition: width 0.5s; }
        td .bar { width: 10rem; display: inline-block; vertical-align: middle; }
        .phase { font-weight: bold; } .id { color: #777; font-family: monospace; }
        pre { background: #f6f6f6; padding: 0.6rem; max-height: 20rem; overflow: auto; }
        #problem { color: #b00; } .hint { color: #777; }
        """

    static let script = #"""
        "use strict";
        // g4 dashboard: the token stays in sessionStorage and goes only into Authorization headers.
        const TOKEN_KEY = "g4-token";
        const $ = (id) => document.getElementById(id);
        function token() { return sessionStorage.getItem(TOKEN_KEY); }
        function problem(text) { const p = $("problem"); p.textContent = text; p.hidden = !text; }

        async function api(path, kind) {
          const response = await fetch(path, { headers: { "Authorization": "Bearer " + token() } });
          if (response.status === 401) { sessionStorage.removeItem(TOKEN_KEY); showLogin("The token was refused; enter another."); throw new Error("unauthorized"); }
          if (!response.ok) {
            let message = response.status + " " + response.statusText;
            try { const body = await response.json(); if (body.error) message = body.error.message; } catch (e) {}
            const error = new Error(message); error.status = response.status; throw error;
          }
          if (kind === "text") return response.text();
          if (kind === "blob") return response.blob();
          return response.json();
        }

        // Server-Sent Events read from a fetch stream, so the token travels in a header (EventSource cannot send one).
        async function follow(path, onEvent) {
          while (true) {
            try {
              const response = await fetch(path, { headers: { "Authorization": "Bearer " + token(), "Accept": "text/event-stream" } });
              if (!response.ok) return;
              const reader = response.body.getReader();
              const decoder = new TextDecoder();
              let buffer = "";
              while (true) {
                const { value, done } = await reader.read();
                if (done) break;
                buffer += decoder.decode(value, { stream: true });
                let end;
                while ((end = buffer.indexOf("\n\n")) >= 0) {
                  const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
                  let event = "message", data = "";
                  for (const line of block.split("\n")) {
                    if (line.startsWith("event: ")) event = line.slice(7);
                    else if (line.startsWith("data: ")) data += line.slice(6);
                  }
                  if (event === "end") return;
                  if (event === "job") onEvent(JSON.parse(data));
                }
              }
            } catch (e) { /* the connection dropped: reconnect */ }
            await new Promise((resolve) => setTimeout(resolve, 2000));
          }
        }

        function eta(seconds) {
          if (seconds === null || seconds === undefined) return "–";
          const s = Math.round(seconds);
          return s >= 3600 ? Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min" : s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
        }
        function redshift(z) { return z === null || z === undefined ? "–" : z.toFixed(2); }
        function cell(row, cls, text) { const td = document.createElement("td"); td.className = cls; td.textContent = text; row.appendChild(td); return td; }

        // The job list: one row per job, kept current by the event stream.
        function listPage() {
          const body = $("jobs").querySelector("tbody");
          const rows = new Map();
          function show(job) {
            let row = rows.get(job.id);
            if (!row) {
              row = document.createElement("tr"); row.dataset.id = job.id;
              const name = cell(row, "name", ""); const link = document.createElement("a"); link.href = "/jobs/" + job.id; link.textContent = job.name; name.appendChild(link);
              cell(row, "phase", ""); const p = cell(row, "progress", "");
              p.innerHTML = '<span class="bar"><span class="fill" style="display:block"></span></span> <span class="percent"></span>';
              cell(row, "redshift", ""); cell(row, "eta", ""); cell(row, "created", new Date(job.created_at).toLocaleString());
              rows.set(job.id, row);
              row.dataset.created = job.created_at;
              const before = [...body.children].find((r) => r.dataset.created < job.created_at);  // newest first
              body.insertBefore(row, before || null);
            }
            row.dataset.phase = job.phase; row.dataset.progress = job.progress;
            row.querySelector(".phase").textContent = job.phase;
            row.querySelector(".fill").style.width = job.progress + "%";
            row.querySelector(".percent").textContent = job.progress.toFixed(1) + " %";
            row.querySelector(".redshift").textContent = redshift(job.redshift);
            row.querySelector(".eta").textContent = eta(job.eta_seconds);
          }
          follow("/api/v1/events", show);
        }

        // One job: state and progress from the stream; results, plots, log and script fetched as they change.
        function jobPage(id) {
          let last = "", scriptShown = false;
          async function refresh(phase) {
            if (!scriptShown) {
              try { $("script").textContent = await api("/api/v1/jobs/" + id + "/script", "text"); scriptShown = true; }
              catch (e) { if (e.status !== 404) throw e; $("script").textContent = "(not handed to a scheduler yet)"; }
            }
            const [results, logs] = await Promise.all([api("/api/v1/simulations/" + id + "/results"), api("/api/v1/simulations/" + id + "/logs?tail=40")]);
            $("log").textContent = logs.lines.join("\n");
            const body = $("results").querySelector("tbody");
            body.textContent = "";
            for (const file of results.files) {
              const row = document.createElement("tr");
              const name = cell(row, "file", ""); const link = document.createElement("a"); link.href = "#"; link.textContent = file.name;
              link.addEventListener("click", (event) => { event.preventDefault(); download(file); });
              name.appendChild(link); cell(row, "size", file.size.toLocaleString()); cell(row, "sha256", file.sha256.slice(0, 16) + "…");
              body.appendChild(row);
            }
            const names = results.files.map((f) => f.name).join(",");
            if (names === last) return;
            last = names;
            for (const plot of ["power-spectrum", "mass-function"]) {
              try { $("plot-" + plot).innerHTML = await api("/api/v1/simulations/" + id + "/plots/" + plot + ".svg", "text"); } catch (e) { if (e.status !== 404) throw e; }
            }
            if (results.files.some((f) => /^snapshot_\d+\.hdf5$/.test(f.name))) {
              const image = await api("/api/v1/simulations/" + id + "/plots/density.png", "blob");
              const old = $("density").src; $("density").src = URL.createObjectURL(image); if (old.startsWith("blob:")) URL.revokeObjectURL(old);
              $("density").dataset.loaded = "true";
            }
          }
          async function download(file) {
            const blob = await api(file.url, "blob");
            const link = document.createElement("a"); link.href = URL.createObjectURL(blob); link.download = file.name.split("/").pop();
            document.body.appendChild(link); link.click(); link.remove();
          }
          api("/api/v1/jobs/" + id).then(async (job) => {
            $("job-name").textContent = job.name; $("job-id").textContent = job.id; document.title = "g4: " + job.name;
            $("parameter-file").textContent = await api("/api/v1/jobs/" + id + "/parameter-file", "text");
            let phase = job.phase;
            await refresh(phase);
            follow("/api/v1/events?job=" + id, async (event) => {
              $("job-phase").textContent = event.phase; $("job-bar").style.width = event.progress + "%";
              $("job-progress").textContent = event.progress.toFixed(1) + " %"; $("job-redshift").textContent = redshift(event.redshift);
              $("job-eta").textContent = eta(event.eta_seconds);
              $("job-rate").textContent = event.particles_per_second ? Math.round(event.particles_per_second).toLocaleString() : "–";
              document.body.dataset.phase = event.phase;
              try { await refresh(event.phase); } catch (e) { problem(e.message); }
            });
          }).catch((e) => { if (e.message !== "unauthorized") problem(e.status === 404 ? "No such job (or it is not yours)." : e.message); });
        }

        function showLogin(message) { $("main").hidden = true; $("login").hidden = false; $("logout").hidden = true; problem(message || ""); }
        function start() {
          if (!token()) { showLogin(); return; }
          $("login").hidden = true; $("main").hidden = false; $("logout").hidden = false;
          const match = location.pathname.match(/^\/jobs\/([0-9a-f-]{36})$/);
          if (match) jobPage(match[1]); else if (location.pathname === "/") listPage(); else problem("No such page.");
        }
        $("login").addEventListener("submit", (event) => {
          event.preventDefault();
          sessionStorage.setItem(TOKEN_KEY, $("token").value.trim()); $("token").value = ""; start();
        });
        $("logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });
        start();
        """#
}

extension SubmissionService {
    func addDashboard(to router: Router<APIRequestContext>) {
        router.get("/") { _, _ in Dashboard.serve(Dashboard.listPage, "text/html; charset=utf-8") }
        router.get("/jobs/:id") { _, _ in Dashboard.serve(Dashboard.jobPage, "text/html; charset=utf-8") }
        router.get("/dashboard/dashboard.js") { _, _ in Dashboard.serve(Dashboard.script, "text/javascript; charset=utf-8") }
        router.get("/dashboard/dashboard.css") { _, _ in Dashboard.serve(Dashboard.style, "text/css; charset=utf-8") }
    }
}
