// orch web page, the actions: the service panel (scale, roll back, promote
// or abort a canary, with the rollout's progress), node actions (cordon,
// drain, uncordon) and a replica's logs, followed. Each action is one API
// call with the page's token; the API decides whether the token may.
(function () {
  "use strict";

  var api = window.orchApi;
  var page = window.orchPage;
  var MAX_LOG_LINES = 1000;

  function $(id) { return document.getElementById(id); }

  // run performs one action, shows its outcome, and refreshes the tables.
  function run(what, call, btn) {
    if (btn) { btn.disabled = true; }
    $("action-result").textContent = what + "...";
    return call().then(function () {
      $("action-result").textContent = what + ": done.";
      page.actionDone(null);
    }, function (err) {
      $("action-result").textContent = what + ": failed.";
      page.actionDone(err);
    }).then(function () { if (btn) { btn.disabled = false; } });
  }

  // ---- the service panel ----

  var chosen = null; // "ns/name" of the service the panel shows

  function split(key) {
    var i = key.indexOf("/");
    return { ns: key.slice(0, i), name: key.slice(i + 1) };
  }

  function openService(key) {
    chosen = key;
    $("service-panel").hidden = false;
    $("svc-name").textContent = key;
    var s = find(page.services(), key);
    $("scale-replicas").value = s && s.status ? s.status.desired : "";
    drawService(page.services());
    $("service-panel").scrollIntoView();
  }

  function find(services, key) {
    for (var i = 0; i < services.length; i++) {
      var s = services[i];
      if ((s.namespace || "default") + "/" + s.name === key) { return s; }
    }
    return null;
  }

  // drawService shows the chosen service's rollout: its state, how many
  // replicas run the new spec, and which canary decision is pending.
  function drawService(services) {
    if (!chosen) { return; }
    var s = find(services, chosen);
    if (!s) {
      $("svc-rollout").textContent = "This service no longer exists.";
      return;
    }
    var st = s.status || {};
    var desired = st.desired || 0;
    var state = st.updateState || (st.updating ? "updating" : (st.lastUpdateResult || "none yet"));
    $("svc-summary").textContent = (st.running || 0) + " of " + desired + " running, " + (st.healthy || 0) +
      " healthy; image " + s.image + (s.generation ? "; revision " + s.generation : "") + ".";
    $("svc-rollout").textContent = "Rollout: " + state + ", " + (st.updated || 0) + " of " + desired +
      " replicas on the current spec" + (st.message ? ". " + st.message : ".");
    var progress = $("svc-progress");
    progress.max = Math.max(desired, 1);
    progress.value = Math.min(st.updated || 0, progress.max);
    var canary = state === "canary" || !!st.canary;
    $("svc-promote").hidden = !canary;
    $("svc-abort").hidden = !canary;
  }

  document.addEventListener("orch:services", function (ev) { drawService(ev.detail); });

  $("scale-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!chosen) { return; }
    var n = parseInt($("scale-replicas").value, 10);
    if (isNaN(n) || n < 0) {
      $("action-result").textContent = "Replicas: enter a whole number, 0 or more.";
      return;
    }
    var k = split(chosen);
    run("Scale " + chosen + " to " + n, function () { return api.scale(k.ns, k.name, n); }, $("scale-submit"));
  });

  [["svc-rollback", "Roll back", "rollback"], ["svc-promote", "Promote the canary of", "promote"],
    ["svc-abort", "Abort the canary of", "abort"]].forEach(function (b) {
    $(b[0]).addEventListener("click", function (ev) {
      if (!chosen) { return; }
      var k = split(chosen);
      run(b[1] + " " + chosen, function () { return api[b[2]](k.ns, k.name); }, ev.currentTarget);
    });
  });

  $("svc-events").addEventListener("click", function () {
    if (chosen) { page.setEventFilter("service", chosen); }
  });

  $("svc-close").addEventListener("click", function () {
    chosen = null;
    $("service-panel").hidden = true;
  });

  // ---- logs, followed ----

  var logAbort = null;

  function stopLogs(note) {
    if (logAbort) { logAbort.abort(); logAbort = null; }
    $("logs-stop").hidden = true;
    if (note) { $("logs-state").textContent = note; }
  }

  function followLogs(replica, ns) {
    stopLogs();
    var ctl = new AbortController();
    logAbort = ctl;
    $("logs-panel").hidden = false;
    $("logs-name").textContent = replica;
    $("logs-stop").hidden = false;
    $("logs-state").textContent = "Following.";
    var pre = $("log-lines");
    pre.textContent = "";
    var lines = [];
    api.stream(api.logsPath(replica, ns), ctl.signal, function (line) {
      lines.push(line);
      if (lines.length > MAX_LOG_LINES) { lines.splice(0, lines.length - MAX_LOG_LINES); }
      pre.textContent = lines.join("\n");
      pre.scrollTop = pre.scrollHeight;
    }).then(function () {
      if (logAbort === ctl) { stopLogs("The log stream ended."); }
    }, function (err) {
      if (logAbort === ctl) { stopLogs("Stopped: " + err); }
    });
    $("logs-panel").scrollIntoView();
  }

  $("logs-stop").addEventListener("click", function () { stopLogs("Stopped following."); });
  $("logs-close").addEventListener("click", function () {
    stopLogs();
    $("logs-panel").hidden = true;
  });

  document.addEventListener("orch:stop", function () {
    stopLogs();
    $("logs-panel").hidden = true;
    chosen = null;
    $("service-panel").hidden = true;
  });

  // ---- the buttons in the tables ----

  var nodeVerbs = { cordon: "Cordon", drain: "Drain", uncordon: "Uncordon" };

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button[data-action]") : null;
    if (!btn) { return; }
    var d = btn.dataset;
    switch (d.action) {
    case "manage":
      openService(d.service);
      break;
    case "logs":
      followLogs(d.replica, d.namespace);
      break;
    case "events":
      page.setEventFilter(d.kind, d.object);
      $("h-events").scrollIntoView();
      break;
    case "cordon":
    case "drain":
    case "uncordon":
      run(nodeVerbs[d.action] + " node " + d.node, function () { return api.nodeAction(d.node, d.action); }, btn);
      break;
    }
  });
})();
