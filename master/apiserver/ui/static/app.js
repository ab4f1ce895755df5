// orch web page: reads the JSON API with the bearer token kept in
// localStorage. Plain DOM, no frameworks; data is written with textContent
// only, never as HTML.
(function () {
  "use strict";

  var TOKEN_KEY = "orch.token";
  var REFRESH_MS = 2000;
  var EVENTS_SHOWN = 50;
  var timer = null;
  var generation = 0; // bumped on connect/forget so stale answers are dropped

  function $(id) { return document.getElementById(id); }

  function token() {
    try { return localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }

  function setToken(t) {
    try {
      if (t) { localStorage.setItem(TOKEN_KEY, t); } else { localStorage.removeItem(TOKEN_KEY); }
    } catch (e) { /* storage disabled: the token lives only in this page */ }
    memoryToken = t;
  }
  var memoryToken = token();

  // ApiError carries what the API said: {"error":{"code","message"}}.
  function ApiError(path, status, code, message) {
    this.path = path;
    this.status = status;
    this.code = code;
    this.message = message;
  }
  ApiError.prototype.toString = function () {
    var s = "GET " + this.path + ": ";
    if (this.status) { s += "HTTP " + this.status + " "; }
    if (this.code) { s += this.code + ": "; }
    return s + this.message;
  };

  function get(path) {
    return fetch(path, {
      headers: { "Authorization": "Bearer " + memoryToken, "Accept": "application/json" },
      cache: "no-store",
      credentials: "omit"
    }).then(function (resp) {
      return resp.text().then(function (body) {
        if (!resp.ok) {
          var code = "", msg = body.trim() || resp.statusText;
          try {
            var e = JSON.parse(body).error;
            if (e) { code = e.code || ""; msg = e.message || msg; }
          } catch (ignored) { /* not our error body */ }
          throw new ApiError(path, resp.status, code, msg);
        }
        try { return JSON.parse(body); } catch (e) {
          throw new ApiError(path, resp.status, "", "answer is not JSON: " + e.message);
        }
      });
    }, function (err) {
      throw new ApiError(path, 0, "", "request failed: " + err.message);
    });
  }

  // ---- formatting ----

  function cpu(m) {
    m = m || 0;
    if (m % 1000 === 0) { return String(m / 1000); }
    return m + "m";
  }

  function mem(b) {
    b = b || 0;
    var units = ["B", "Ki", "Mi", "Gi", "Ti"];
    var i = 0;
    while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
    return (i === 0 || b >= 100 || b % 1 === 0 ? Math.round(b) : b.toFixed(1)) + units[i];
  }

  function pair(used, cap, fmt) {
    var s = fmt(used) + " / " + fmt(cap);
    if (cap > 0) { s += " (" + Math.round(100 * (used || 0) / cap) + "%)"; }
    return s;
  }

  function when(t) {
    var d = new Date(t);
    return isNaN(d.getTime()) ? String(t || "") : d.toLocaleTimeString();
  }

  // ---- rendering ----

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text === undefined || text === null ? "" : String(text);
    if (cls) { td.className = cls; }
    tr.appendChild(td);
  }

  function fill(tbodyId, items, columns, emptyText, rowClass) {
    var tbody = $(tbodyId);
    var rows = [];
    if (!items.length) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = tbody.parentNode.querySelectorAll("thead th").length;
      td.className = "muted";
      td.textContent = emptyText;
      tr.appendChild(td);
      rows.push(tr);
    }
    items.forEach(function (it) {
      var tr = document.createElement("tr");
      if (rowClass && rowClass(it)) { tr.className = "bad"; }
      columns(it).forEach(function (c) {
        if (Array.isArray(c)) { cell(tr, c[0], c[1]); } else { cell(tr, c); }
      });
      rows.push(tr);
    });
    tbody.replaceChildren.apply(tbody, rows);
  }

  function svcKey(ns, name) { return (ns || "default") + "/" + name; }

  function rollout(st) {
    if (st.updateState) { return st.updateState; }
    if (st.updating) { return "updating"; }
    return st.lastUpdateResult || "-";
  }

  function renderCluster(c) {
    var leader = c.leaderId ? c.leaderId + " (" + c.leader + ")" : (c.leader || "none");
    $("cluster-summary").textContent = "Leader: " + leader + ". Raft index: " + (c.index || 0) +
      ". Masters: " + (c.members || []).length + ".";
    fill("members", c.members || [], function (m) {
      return [m.id, m.role, m.apiAddress, m.raftAddress, [m.appliedIndex || 0, "num"], m.healthy ? "yes" : "NO"];
    }, "No members reported.", function (m) { return !m.healthy; });
  }

  function renderServices(services) {
    fill("services", services, function (s) {
      var st = s.status || {};
      var desired = st.desired !== undefined ? st.desired : (s.replicas || 0);
      return [s.name, s.namespace || "default", [(st.running || 0) + " / " + desired, "num"], s.image, rollout(st)];
    }, "No services.", function (s) {
      var st = s.status || {};
      return (st.running || 0) < (st.desired || 0);
    });
    // Keep the filter's choices in step with the services, keeping the choice.
    var sel = $("service-filter");
    var chosen = sel.value;
    var keys = services.map(function (s) { return svcKey(s.namespace, s.name); }).sort();
    var current = Array.prototype.slice.call(sel.options, 1).map(function (o) { return o.value; });
    if (keys.join("\n") !== current.join("\n")) {
      var opts = [sel.options[0]];
      keys.forEach(function (k) {
        var o = document.createElement("option");
        o.value = k;
        o.textContent = k;
        opts.push(o);
      });
      if (chosen && keys.indexOf(chosen) < 0) {
        var gone = document.createElement("option");
        gone.value = chosen;
        gone.textContent = chosen + " (gone)";
        opts.push(gone);
      }
      sel.replaceChildren.apply(sel, opts);
      sel.value = chosen;
    }
  }

  var lastReplicas = [], nodeNames = {};

  function renderReplicas() {
    var want = $("service-filter").value;
    var reps = lastReplicas.filter(function (r) {
      return !want || svcKey(r.namespace, r.service) === want;
    });
    fill("replicas", reps, function (r) {
      return [r.name || r.id, nodeNames[r.node] || r.node || "-", r.state, r.ip, [r.restarts || 0, "num"], r.message];
    }, want ? "No replicas of " + want + "." : "No replicas.", function (r) {
      return r.state === "failed" || r.state === "unhealthy" || r.state === "lost";
    });
  }

  function renderNodes(nodes) {
    fill("nodes", nodes, function (n) {
      var cap = n.capacity || {}, al = n.allocated || {};
      var state = n.state + (n.adminState ? " (" + n.adminState + ")" : "");
      return [n.name, state, pair(al.cpuMillis || 0, cap.cpuMillis || 0, cpu),
        pair(al.memoryBytes || 0, cap.memoryBytes || 0, mem), n.address, n.subnet];
    }, "No nodes.", function (n) { return n.state !== "ready"; });
  }

  function renderEvents(evs) {
    evs = evs.slice(-EVENTS_SHOWN).reverse();
    fill("events", evs, function (e) {
      var obj = e.kind;
      if (e.kind === "service") { obj = "service " + svcKey(e.namespace, e.service); }
      if (e.kind === "replica") { obj = "replica " + (e.replica || e.replicaId); }
      if (e.kind === "node") { obj = "node " + e.node; }
      return [when(e.time), e.type, e.reason, obj, e.message];
    }, "No events yet.", function (e) { return e.type === "warning"; });
  }

  // ---- refresh loop ----

  function showError(errs) {
    var box = $("error");
    if (!errs.length) { box.hidden = true; box.textContent = ""; return; }
    var text = errs.map(String).join("\n");
    if (errs.some(function (e) { return e.status === 401; })) {
      text += "\nThe token was refused. Press \"Forget token\" and enter another one.";
    } else if (errs.some(function (e) { return e.status === 403; })) {
      text += "\nThis token's role may not read this; a reader or admin token is needed.";
    }
    box.textContent = text;
    box.hidden = false;
  }

  function refresh() {
    var gen = generation;
    var errs = [];
    function guard(p, fn) {
      return p.then(function (v) { if (gen === generation) { fn(v); } }, function (e) { errs.push(e); });
    }
    var nodesP = get("/v1/nodes");
    Promise.all([
      guard(get("/v1/cluster"), renderCluster),
      guard(get("/v1/services"), renderServices),
      guard(nodesP, function (nodes) {
        nodeNames = {};
        nodes.forEach(function (n) { nodeNames[n.id] = n.name; });
        renderNodes(nodes);
      }),
      guard(Promise.all([get("/v1/replicas"), nodesP.catch(function () { return null; })]), function (v) {
        lastReplicas = v[0];
        renderReplicas();
      }),
      guard(get("/v1/events?limit=" + EVENTS_SHOWN), renderEvents)
    ]).then(function () {
      if (gen !== generation) { return; }
      showError(errs);
      $("status").textContent = errs.length ?
        "Last refresh " + new Date().toLocaleTimeString() + ": " + errs.length + " request(s) failed." :
        "Updated " + new Date().toLocaleTimeString() + "; refreshing every 2 s.";
      timer = setTimeout(tick, REFRESH_MS);
    });
  }

  function tick() {
    timer = null;
    if (document.hidden) { timer = setTimeout(tick, REFRESH_MS); return; }
    refresh();
  }

  function stop() {
    generation++;
    if (timer) { clearTimeout(timer); timer = null; }
  }

  function showLogin() {
    stop();
    $("main").hidden = true;
    $("forget").hidden = true;
    $("login").hidden = false;
    $("status").textContent = "Not connected.";
    $("token").focus();
  }

  function connect() {
    stop();
    $("login").hidden = true;
    $("main").hidden = false;
    $("forget").hidden = false;
    $("status").textContent = "Loading...";
    refresh();
  }

  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var t = $("token").value.trim();
    if (!t) { return; }
    $("token").value = "";
    setToken(t);
    showError([]);
    connect();
  });

  $("forget").addEventListener("click", function () {
    setToken("");
    showError([]);
    showLogin();
  });

  $("service-filter").addEventListener("change", renderReplicas);

  if (memoryToken) { connect(); } else { showLogin(); }
})();
