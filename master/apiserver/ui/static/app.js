// orch web page: the tables, kept current by polling and by the watch
// stream. Plain DOM, no frameworks; data is written with textContent only,
// never as HTML. Buttons carry data-action attributes that actions.js acts on.
(function () {
  "use strict";

  var api = window.orchApi;
  var REFRESH_MS = 2000;
  // A burst of watch events (a rollout moves many replicas) becomes one
  // refresh, at most this often.
  var LIVE_DEBOUNCE_MS = 300;
  var EVENTS_SHOWN = 50;
  var timer = null;
  var generation = 0; // bumped on connect/forget so stale answers are dropped
  var refreshing = false, again = false;
  var watchAbort = null;

  function $(id) { return document.getElementById(id); }

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

  // button makes an action button; attrs become data-* attributes.
  function button(label, action, attrs) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.action = action;
    Object.keys(attrs).forEach(function (k) { b.dataset[k] = attrs[k]; });
    return b;
  }

  // cell appends a td holding text, or the buttons of an array of elements.
  function cell(tr, value, cls) {
    var td = document.createElement("td");
    if (Array.isArray(value) && value.length && value[0] instanceof Element) {
      value.forEach(function (el) { td.appendChild(el); td.appendChild(document.createTextNode(" ")); });
    } else {
      td.textContent = value === undefined || value === null ? "" : String(value);
    }
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
        if (c && c.cls) { cell(tr, c.value, c.cls); } else { cell(tr, c); }
      });
      rows.push(tr);
    });
    tbody.replaceChildren.apply(tbody, rows);
  }

  function num(v) { return { value: v, cls: "num" }; }

  function svcKey(ns, name) { return (ns || "default") + "/" + name; }

  // rolloutText says where the service's latest rollout stands, with its
  // progress when one is under way.
  function rolloutText(s) {
    var st = s.status || {};
    var state = st.updateState || (st.updating ? "updating" : (st.lastUpdateResult || "-"));
    var desired = st.desired || 0;
    if (st.updating || state === "updating" || state === "paused" || state === "rolling_back") {
      state += ": " + (st.updated || 0) + " of " + desired + " updated";
    }
    if (st.canary) { state += " (canary " + st.canary + ")"; }
    return state;
  }

  function renderCluster(c) {
    var leader = c.leaderId ? c.leaderId + " (" + c.leader + ")" : (c.leader || "none");
    $("cluster-summary").textContent = "Leader: " + leader + ". Raft index: " + (c.index || 0) +
      ". Masters: " + (c.members || []).length + ".";
    fill("members", c.members || [], function (m) {
      return [m.id, m.role, m.apiAddress, m.raftAddress, num(m.appliedIndex || 0), m.healthy ? "yes" : "NO"];
    }, "No members reported.", function (m) { return !m.healthy; });
  }

  var lastServices = [];

  function renderServices(services) {
    lastServices = services;
    fill("services", services, function (s) {
      var st = s.status || {};
      var desired = st.desired !== undefined ? st.desired : (s.replicas || 0);
      var key = svcKey(s.namespace, s.name);
      return [s.name, s.namespace || "default", num((st.running || 0) + " / " + desired), s.image, rolloutText(s),
        [button("Manage", "manage", { service: key })]];
    }, "No services.", function (s) {
      var st = s.status || {};
      return (st.running || 0) < (st.desired || 0);
    });
    syncFilter(services.map(function (s) { return svcKey(s.namespace, s.name); }).sort());
    document.dispatchEvent(new CustomEvent("orch:services", { detail: services }));
  }

  // renderJobs shows each job's progress (status.job); a cron job shows
  // its schedule instead.
  function renderJobs(jobs) {
    fill("jobs", jobs, function (j) {
      var st = (j.status || {}).job || {};
      if (j.schedule) {
        return [j.name, j.namespace || "default", "scheduled: " + j.schedule, "-", "-", "-", st.message || ""];
      }
      return [j.name, j.namespace || "default", st.state || "-", num((st.succeeded || 0) + " / " + (j.completions || 1)),
        num(st.failed || 0), num(st.active || 0), st.message || ""];
    }, "No jobs.", function (j) { return ((j.status || {}).job || {}).state === "failed"; });
  }

  // syncFilter keeps the replica filter's choices in step with the services,
  // keeping the choice.
  function syncFilter(keys) {
    var sel = $("service-filter");
    var chosen = sel.value;
    var current = Array.prototype.slice.call(sel.options, 1).map(function (o) { return o.value; });
    if (keys.join("\n") === current.join("\n")) { return; }
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

  var lastReplicas = [], nodeNames = {};

  function renderReplicas() {
    var want = $("service-filter").value;
    var reps = lastReplicas.filter(function (r) {
      return !want || svcKey(r.namespace, r.service) === want;
    });
    fill("replicas", reps, function (r) {
      var name = r.name || r.id;
      var msg = [r.message, containersText(r)].filter(Boolean).join(" | ");
      return [name, nodeNames[r.node] || r.node || "-", r.state, r.ip, num(r.restarts || 0), msg,
        [button("Logs", "logs", { replica: name, namespace: r.namespace || "default" }),
          button("Events", "events", { kind: "replica", object: name })]];
    }, want ? "No replicas of " + want + "." : "No replicas.", function (r) {
      return r.state === "failed" || r.state === "unhealthy" || r.state === "lost";
    });
  }

  // containersText sums up a replica's sidecars and init containers (init
  // progress included), for the message column.
  function containersText(r) {
    return (r.containers || []).map(function (c) {
      return c.kind + " " + c.name + ": " + c.state + (c.restarts ? " (" + c.restarts + " restarts)" : "");
    }).join(", ");
  }

  // nodeButtons offers what makes sense from the node's admin state.
  function nodeButtons(n) {
    var b = [];
    if (!n.adminState) { b.push(button("Cordon", "cordon", { node: n.name })); }
    if (n.adminState !== "draining") { b.push(button("Drain", "drain", { node: n.name })); }
    if (n.adminState) { b.push(button("Uncordon", "uncordon", { node: n.name })); }
    b.push(button("Events", "events", { kind: "node", object: n.name }));
    return b;
  }

  function renderNodes(nodes) {
    fill("nodes", nodes, function (n) {
      var cap = n.capacity || {}, al = n.allocated || {};
      var state = n.state + (n.adminState ? " (" + n.adminState + ")" : "");
      return [n.name, state, pair(al.cpuMillis || 0, cap.cpuMillis || 0, cpu),
        pair(al.memoryBytes || 0, cap.memoryBytes || 0, mem), n.address, n.subnet, nodeButtons(n)];
    }, "No nodes.", function (n) { return n.state !== "ready"; });
  }

  function eventObject(e) {
    if (e.kind === "service") { return "service " + svcKey(e.namespace, e.service); }
    if (e.kind === "replica") { return "replica " + (e.replica || e.replicaId); }
    if (e.kind === "node") { return "node " + e.node; }
    return e.kind;
  }

  function renderEvents(evs) {
    evs = evs.slice(-EVENTS_SHOWN).reverse();
    fill("events", evs, function (e) {
      return [when(e.time), e.type, e.reason, eventObject(e), e.message];
    }, eventFilter.kind ? "No events of " + eventFilter.kind + " " + eventFilter.object + " yet." : "No events yet.",
    function (e) { return e.type === "warning"; });
  }

  // ---- the events filter ----

  var eventFilter = { kind: "", object: "" };

  function eventsPath() {
    var p = { limit: EVENTS_SHOWN };
    if (eventFilter.kind && eventFilter.object) {
      p.kind = eventFilter.kind;
      var name = eventFilter.object;
      if (eventFilter.kind === "service" && name.indexOf("/") > 0) {
        p.namespace = name.slice(0, name.indexOf("/"));
        name = name.slice(name.indexOf("/") + 1);
      }
      p[eventFilter.kind] = name;
    }
    return "/v1/events" + api.query(p);
  }

  function setEventFilter(kind, object) {
    eventFilter = { kind: object ? kind : "", object: object ? object : "" };
    $("event-kind").value = eventFilter.kind;
    $("event-object").value = eventFilter.object;
    $("events-shown").textContent = eventFilter.kind ?
      "Showing events of " + eventFilter.kind + " " + eventFilter.object + "." : "Showing all events.";
    refreshSoon();
  }

  // ---- refresh loop ----

  function showError(errs, hint) {
    var box = $("error");
    if (!errs.length) { box.hidden = true; box.textContent = ""; return; }
    var text = errs.map(String).join("\n");
    if (errs.some(function (e) { return e.status === 401; })) {
      text += "\nThe token was refused. Press \"Forget token\" and enter another one.";
    } else if (errs.some(function (e) { return e.status === 403; })) {
      text += "\n" + (hint || "This token's role may not read this; a reader or admin token is needed.");
    }
    box.textContent = text;
    box.hidden = false;
  }

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    if (timer) { clearTimeout(timer); timer = null; }
    var gen = generation;
    var errs = [];
    function guard(p, fn) {
      return p.then(function (v) { if (gen === generation) { fn(v); } }, function (e) { errs.push(e); });
    }
    var nodesP = api.get("/v1/nodes");
    Promise.all([
      guard(api.get("/v1/cluster"), renderCluster),
      guard(api.get("/v1/services"), renderServices),
      guard(api.get("/v1/jobs"), renderJobs),
      guard(nodesP, function (nodes) {
        nodeNames = {};
        nodes.forEach(function (n) { nodeNames[n.id] = n.name; });
        renderNodes(nodes);
      }),
      guard(Promise.all([api.get("/v1/replicas"), nodesP.catch(function () { return null; })]), function (v) {
        lastReplicas = v[0];
        renderReplicas();
      }),
      guard(api.get(eventsPath()), renderEvents)
    ]).then(function () {
      refreshing = false;
      if (gen !== generation) { return; }
      if (!actionFailed) { showError(errs); }
      $("status").textContent = errs.length ?
        "Last refresh " + new Date().toLocaleTimeString() + ": " + errs.length + " request(s) failed." :
        "Updated " + new Date().toLocaleTimeString() + (watchAbort ? "; live." : "; refreshing every 2 s.");
      if (again) { again = false; refreshSoon(); return; }
      timer = setTimeout(tick, REFRESH_MS);
    });
  }

  var soon = null;

  // refreshSoon coalesces the reasons to refresh (watch events, actions)
  // into one refresh shortly after the first.
  function refreshSoon() {
    if (soon) { return; }
    soon = setTimeout(function () { soon = null; refresh(); }, LIVE_DEBOUNCE_MS);
  }

  function tick() {
    timer = null;
    if (document.hidden) { timer = setTimeout(tick, REFRESH_MS); return; }
    refresh();
  }

  // live follows the watch stream: every change refreshes the tables, so a
  // rollout's progress shows as it happens. It reconnects after a pause when
  // the stream ends; polling goes on meanwhile.
  function live(gen) {
    var ctl = new AbortController();
    watchAbort = ctl;
    api.stream("/v1/watch", ctl.signal, function (line) {
      if (line.trim() && gen === generation) { refreshSoon(); }
    }).catch(function () { /* polling carries on; try again below */ }).then(function () {
      if (watchAbort === ctl) { watchAbort = null; }
      if (gen === generation && !ctl.signal.aborted) {
        setTimeout(function () { if (gen === generation) { live(gen); } }, 5000);
      }
    });
  }

  function stop() {
    generation++;
    if (timer) { clearTimeout(timer); timer = null; }
    if (watchAbort) { watchAbort.abort(); watchAbort = null; }
    document.dispatchEvent(new CustomEvent("orch:stop"));
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
    live(generation);
  }

  // actionFailed keeps an action's error on screen until the next action,
  // rather than letting the next refresh clear it.
  var actionFailed = false;

  window.orchPage = {
    services: function () { return lastServices; },
    refreshSoon: refreshSoon,
    setEventFilter: setEventFilter,
    actionDone: function (err) {
      actionFailed = !!err;
      showError(err ? [err] : [], "This action needs an admin token.");
      refreshSoon();
    }
  };

  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var t = $("token").value.trim();
    if (!t) { return; }
    $("token").value = "";
    api.setToken(t);
    showError([]);
    connect();
  });

  $("forget").addEventListener("click", function () {
    api.setToken("");
    showError([]);
    showLogin();
  });

  $("service-filter").addEventListener("change", renderReplicas);

  $("event-filter").addEventListener("submit", function (ev) {
    ev.preventDefault();
    setEventFilter($("event-kind").value, $("event-object").value.trim());
  });
  $("event-clear").addEventListener("click", function () { setEventFilter("", ""); });

  if (api.token()) { connect(); } else { showLogin(); }
})();
