// orch web page, the API side: the bearer token, JSON requests and the
// newline-delimited streams (watch, followed logs). No DOM here; app.js draws.
(function () {
  "use strict";

  var TOKEN_KEY = "orch.token";

  function stored() {
    try { return localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }
  var memoryToken = stored();

  // ApiError carries what the API said: {"error":{"code","message"}}.
  function ApiError(method, path, status, code, message) {
    this.method = method;
    this.path = path;
    this.status = status;
    this.code = code;
    this.message = message;
  }
  ApiError.prototype.toString = function () {
    var s = this.method + " " + this.path + ": ";
    if (this.status) { s += "HTTP " + this.status + " "; }
    if (this.code) { s += this.code + ": "; }
    return s + this.message;
  };

  function headers(extra) {
    var h = { "Authorization": "Bearer " + memoryToken, "Accept": "application/json" };
    Object.keys(extra || {}).forEach(function (k) { h[k] = extra[k]; });
    return h;
  }

  // failure turns a refused answer into an ApiError with the API's own words.
  function failure(method, path, resp, body) {
    var code = "", msg = body.trim() || resp.statusText;
    try {
      var e = JSON.parse(body).error;
      if (e) { code = e.code || ""; msg = e.message || msg; }
    } catch (ignored) { /* not our error body */ }
    return new ApiError(method, path, resp.status, code, msg);
  }

  function request(method, path, body, signal) {
    var init = { method: method, headers: headers(), cache: "no-store", credentials: "omit", signal: signal };
    if (body !== undefined) {
      init.headers = headers({ "Content-Type": "application/json" });
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (resp) {
      return resp.text().then(function (text) {
        if (!resp.ok) { throw failure(method, path, resp, text); }
        if (!text) { return null; }
        try { return JSON.parse(text); } catch (e) {
          throw new ApiError(method, path, resp.status, "", "answer is not JSON: " + e.message);
        }
      });
    }, function (err) {
      throw new ApiError(method, path, 0, "", "request failed: " + err.message);
    });
  }

  // stream calls onLine with each line of a long answer until it ends or
  // signal aborts it; the promise settles when the stream is over.
  function stream(path, signal, onLine) {
    return fetch(path, { headers: headers(), cache: "no-store", credentials: "omit", signal: signal })
      .then(function (resp) {
        if (!resp.ok) {
          return resp.text().then(function (text) { throw failure("GET", path, resp, text); });
        }
        var reader = resp.body.getReader();
        var decoder = new TextDecoder();
        var rest = "";
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) {
              if (rest) { onLine(rest); }
              return;
            }
            var lines = (rest + decoder.decode(chunk.value, { stream: true })).split("\n");
            rest = lines.pop();
            lines.forEach(onLine);
            return pump();
          });
        }
        return pump();
      }, function (err) {
        if (err.name === "AbortError") { return; }
        throw new ApiError("GET", path, 0, "", "request failed: " + err.message);
      });
  }

  function q(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== undefined && params[k] !== "") {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
      }
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  function seg(s) { return encodeURIComponent(s); }

  function servicePath(ns, name) { return "/v1/namespaces/" + seg(ns || "default") + "/services/" + seg(name); }

  window.orchApi = {
    ApiError: ApiError,
    token: function () { return memoryToken; },
    setToken: function (t) {
      try {
        if (t) { localStorage.setItem(TOKEN_KEY, t); } else { localStorage.removeItem(TOKEN_KEY); }
      } catch (e) { /* storage disabled: the token lives only in this page */ }
      memoryToken = t;
    },
    get: function (path) { return request("GET", path); },
    query: q,
    stream: stream,

    // The actions: each answers the object the API wrote.
    scale: function (ns, name, replicas) { return request("POST", servicePath(ns, name) + "/scale", { replicas: replicas }); },
    rollback: function (ns, name) { return request("POST", servicePath(ns, name) + "/rollback"); },
    promote: function (ns, name) { return request("POST", servicePath(ns, name) + "/promote"); },
    abort: function (ns, name) { return request("POST", servicePath(ns, name) + "/abort"); },
    nodeAction: function (id, action) { return request("POST", "/v1/nodes/" + seg(id) + "/" + action); },
    logsPath: function (replica, ns) {
      return "/v1/replicas/" + seg(replica) + "/logs" + q({ namespace: ns, follow: "true", tail: 200 });
    }
  };
})();
