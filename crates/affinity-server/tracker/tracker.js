/*
 * affinity's storefront tracker (issue 15): one <script src="https://affinity.example/tracker.js"></script>, then
 *   affinity.init({url: "https://affinity.example", project: "shop-1", key: "afy_pk_…"});
 *   affinity.track("view", {item: "sku-1"});
 *   affinity.identify("u-42");
 *   affinity.recommend({for: "customer", n: 4, placement: "home_top"}).then(function (items) { … });
 *   affinity.decide({page: "home"}).then(function (decision) { … });
 *   affinity.click(recommendationId, "sku-2");
 * Use a public key (scope "public") and list the shop's origin in the project's `allowed_origins` setting.
 *
 * Events wait in a queue kept in memory and in localStorage, each with a client event id (a retried send is
 * skipped by the server as a duplicate, never stored twice). The queue is sent every 5 s or at 20 events, and with
 * navigator.sendBeacon when the page is hidden or left; a failed send is retried with a doubling backoff (at most
 * 60 s). Until identify, the visitor is an anonymous id kept in a first-party cookie (SameSite=Lax, one year).
 */
(function (window, document) {
  "use strict";
  var QUEUE = "affinity_queue", CUSTOMER = "affinity_customer", COOKIE = "affinity_aid";
  // A batch stays under 60 KB: browsers refuse keep-alive and beacon bodies past 64 KiB.
  var EVERY_MS = 5000, AT_EVENTS = 20, MAX_BATCH = 500, MAX_BYTES = 60000, MAX_QUEUE = 5000, MAX_BACKOFF_MS = 60000;
  var config = null, queue = [], timer = null, sending = false, backoff = 0;

  function hex(bytes) {
    var a = new Uint8Array(bytes), s = "";
    (window.crypto || window.msCrypto).getRandomValues(a);
    for (var i = 0; i < a.length; i++) s += (a[i] < 16 ? "0" : "") + a[i].toString(16);
    return s;
  }

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) {
        try { return decodeURIComponent(parts[i].slice(eq + 1)); } catch (e) { return null; }
      }
    }
    return null;
  }

  function anonymousId() {
    var id = readCookie(COOKIE);
    if (!id) {
      id = "a-" + hex(12);
      var secure = window.location.protocol === "https:" ? "; Secure" : "";
      document.cookie = COOKIE + "=" + id + "; Max-Age=31536000; Path=/; SameSite=Lax" + secure;
    }
    return id;
  }

  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: memory only */ }
  }

  function customer() {
    return stored(CUSTOMER) || anonymousId();
  }

  function save() {
    store(QUEUE, JSON.stringify(queue));
  }

  function url(path) {
    return config.url.replace(/\/+$/, "") + path;
  }

  function projectPath(rest) {
    return "/v1/projects/" + encodeURIComponent(config.project) + rest;
  }

  /** A JSON request with the key in its header; resolves to the parsed answer, rejects on any non-2xx. */
  function call(method, path, body) {
    if (!config) return Promise.reject(new Error("affinity.init first"));
    var init = {method: method, headers: {"x-api-key": config.key}, keepalive: true};
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return window.fetch(url(path), init).then(function (r) {
      return r.text().then(function (text) {
        var value = text ? JSON.parse(text) : null;
        if (!r.ok) {
          var error = new Error((value && value.error && value.error.message) || ("HTTP " + r.status));
          error.status = r.status;
          error.body = value;
          throw error;
        }
        return value;
      });
    });
  }

  function schedule() {
    if (timer) return;
    timer = window.setTimeout(function () { timer = null; flush(false); }, backoff || EVERY_MS);
  }

  /** The oldest waiting events not already on their way, at most MAX_BATCH and MAX_BYTES of JSON. */
  function nextBatch() {
    var batch = [], bytes = 100;
    for (var i = 0; i < queue.length && batch.length < MAX_BATCH; i++) {
      if (queue[i].sending) continue;
      var size = JSON.stringify(queue[i]).length + 1;
      if (batch.length && bytes + size > MAX_BYTES) break;
      batch.push(queue[i]);
      bytes += size;
    }
    return batch;
  }

  /** Removes the events of `batch` from the queue (by identity: the queue may have changed meanwhile). */
  function drop(batch) {
    queue = queue.filter(function (e) { return batch.indexOf(e) < 0; });
    save();
  }

  /** The events as the API takes them (without the tracker's own marks). */
  function body(batch) {
    return {project: config.project, data: batch.map(function (e) {
      var copy = {};
      for (var k in e) if (k !== "sending") copy[k] = e[k];
      return copy;
    })};
  }

  /** Sends what waits: by beacon when the page is going away, else by fetch. */
  function flush(beacon) {
    if (!config) return;
    if (beacon && window.navigator.sendBeacon) {
      // Everything not on its way, batch after batch, while the browser takes them.
      for (var batch = nextBatch(); batch.length; batch = nextBatch()) {
        var target = url("/feedback?key=" + encodeURIComponent(config.key));
        var blob = new Blob([JSON.stringify(body(batch))], {type: "text/plain"});
        if (!window.navigator.sendBeacon(target, blob)) break;
        drop(batch);
      }
      return;
    }
    if (sending) return;
    var batch = nextBatch();
    if (!batch.length) return;
    sending = true;
    batch.forEach(function (e) { e.sending = true; });
    call("POST", "/feedback", body(batch)).then(function () {
      drop(batch);
      backoff = 0;
    }, function (error) {
      batch.forEach(function (e) { delete e.sending; });
      // A refused batch (4xx but 429) would be refused again: it is dropped, with a word in the console.
      if (error.status >= 400 && error.status < 500 && error.status !== 429) {
        drop(batch);
        if (window.console) window.console.warn("affinity: events refused: " + error.message);
      } else {
        backoff = Math.min(MAX_BACKOFF_MS, (backoff || 1000) * 2);
      }
    }).then(function () {
      sending = false;
      save();
      if (queue.length) schedule();
    });
  }

  function pageHidden() {
    if (document.visibilityState === "hidden") flush(true);
  }

  var affinity = {
    /** Starts the tracker: `url` of affinity, `project` id, a public `key`. Sends events left by earlier pages. */
    init: function (options) {
      if (!options || !options.url || !options.project || !options.key) {
        throw new Error("affinity.init needs url, project and key");
      }
      var first = !config;
      config = {url: options.url, project: options.project, key: options.key};
      if (first) {
        var saved;
        try { saved = JSON.parse(stored(QUEUE) || "[]"); } catch (e) { saved = []; }
        // Events left by earlier pages (never marked as on their way: those sends ended with their page).
        queue = (Array.isArray(saved) ? saved : []).concat(queue).map(function (e) { delete e.sending; return e; });
        window.addEventListener("pagehide", function () { flush(true); });
        document.addEventListener("visibilitychange", pageHidden);
      }
      if (queue.length) schedule();
      return affinity;
    },

    /** Queues one event of interaction type `event` for the visitor: {item, quantity, price, params, order_id}. */
    track: function (event, fields) {
      var e = {id: "t-" + hex(12), event: event, customer: customer(), date: new Date().toISOString()};
      fields = fields || {};
      ["item", "quantity", "price", "params", "order_id"].forEach(function (name) {
        if (fields[name] !== undefined && fields[name] !== null) e[name] = fields[name];
      });
      queue.push(e);
      if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
      save();
      if (queue.length >= AT_EVENTS) flush(false); else schedule();
      return e.id;
    },

    /** The visitor is `customerId` from now on; the anonymous id's events, past and future, become theirs. */
    identify: function (customerId) {
      var anonymous = anonymousId();
      store(CUSTOMER, String(customerId));
      // Events queued so far go out under the anonymous id, which the server maps to the customer.
      return call("POST", projectPath("/identify"), {anonymous_id: anonymous, customer: String(customerId)});
    },

    /** Recommendations: {for: "customer"|"item"|"popular", item, n, placement}; resolves to the answer's items,
     *  each with the answer's `recommendation_id` (for click). Sends the widget's impression. */
    recommend: function (options) {
      options = options || {};
      var query = "?n=" + encodeURIComponent(options.n || 10);
      if (options.placement) query += "&placement=" + encodeURIComponent(options.placement);
      var path;
      if (options["for"] === "item") path = "/recommendations/items/" + encodeURIComponent(options.item);
      else if (options["for"] === "popular") path = "/recommendations/popular";
      else path = "/recommendations/users/" + encodeURIComponent(customer());
      return call("GET", projectPath(path + query)).then(function (answer) {
        var id = answer.recommendation_id;
        var items = (answer.items || []).map(function (i) { i.recommendation_id = id; return i; });
        if (id && items.length) {
          call("POST", projectPath("/recommendations/" + encodeURIComponent(id) + "/events"),
               {type: "impression", customer: customer()}).catch(function () {});
        }
        return items;
      });
    },

    /** The experiences for this visitor in `context` (page, device, …); resolves to the decision. */
    decide: function (context) {
      return call("POST", projectPath("/experiences/decide"), {customer: customer(), context: context || {}});
    },

    /** Records a click on `item` of recommendation `recommendationId`. */
    click: function (recommendationId, item) {
      return call("POST", projectPath("/recommendations/" + encodeURIComponent(recommendationId) + "/events"),
                  {type: "click", item: String(item), customer: customer()});
    },

    /** Sends what waits now. */
    flush: function () { flush(false); },

    /** The visitor's id now: the identified customer, else the anonymous id. */
    customer: customer,

    /** The anonymous id of this browser. */
    anonymousId: anonymousId
  };

  window.affinity = affinity;
})(window, document);
