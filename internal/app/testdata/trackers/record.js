// record.js wraps the page's fetch, XMLHttpRequest and navigator.sendBeacon
// before any tracker loads, so that every request that delivers events to the
// collector and the collector's answer are recorded as the tracker sent them, in
// the report format of send.cjs (window.report), in the order they were sent.
// The page names the tracker of each request with window.trackerOf(path),
// defined before it includes this file. A beacon gets no answer: it is marked
// beacon, its status stays 0, and the test finds its events in the lake.
window.report = { requests: [], errors: [] };
window.pending = 0;
(function () {
  const ids = (url, body) => {
    if (url.pathname === '/i') return [url.searchParams.get('eid')];
    const doc = JSON.parse(body);
    if (Array.isArray(doc.batch)) return doc.batch.map((m) => m.messageId);
    if (Array.isArray(doc.data)) return doc.data.map((e) => e.eid);
    return [doc.messageId];
  };
  // start lists a request as it is sent; the returned function records the
  // answer (or the failure) and ends it.
  const start = (method, url, body, beacon) => {
    const entry = { lib: window.trackerOf(url.pathname), method, path: url.pathname, beacon: !!beacon, status: 0, ids: ids(url, body), answer: null };
    window.report.requests.push(entry);
    window.pending++;
    return (status, text, error) => {
      entry.status = status;
      try { entry.answer = JSON.parse(text); } catch (e) { entry.answer = null; }
      if (error) window.report.errors.push({ lib: entry.lib, error: String(error) });
      window.pending--;
    };
  };
  // recorded says whether a request delivers events: one to another origin
  // (the collector) that posts, or a pixel; the libraries' settings requests
  // (GET) are not.
  const recorded = (method, u) => {
    const url = new URL(u, location.href);
    return url.origin !== location.origin && (method !== 'GET' || url.pathname === '/i');
  };

  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const req = new Request(input, init);
    if (!recorded(req.method, req.url)) return realFetch(req);
    const done = start(req.method, new URL(req.url), req.method === 'GET' ? '' : await req.clone().text());
    try {
      const resp = await realFetch(req);
      done(resp.status, await resp.clone().text());
      return resp;
    } catch (e) {
      done(0, '', e);
      throw e;
    }
  };

  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.request = { method: String(method).toUpperCase(), url: new URL(url, location.href) };
    return open.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (body) {
    const r = this.request;
    if (r && recorded(r.method, r.url)) {
      const done = start(r.method, r.url, typeof body === 'string' ? body : '');
      this.addEventListener('loadend', () => done(this.status, this.responseText, this.status === 0 ? 'no answer' : null));
    }
    return send.call(this, body);
  };

  const beacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    if (!recorded('POST', url)) return beacon(url, data);
    window.pending++;
    const u = new URL(url, location.href);
    const queued = beacon(url, data);
    (data instanceof Blob ? data.text() : Promise.resolve(String(data))).then((text) => {
      start('POST', u, text, true)(0, '', queued ? null : 'the browser refused the beacon');
      window.pending--;
    });
    return queued;
  };
})();

// sent counts the events a tracker has had answered.
window.sent = (lib) => window.report.requests.filter((r) => r.lib === lib).reduce((n, r) => n + r.ids.length, 0);

// run runs a page's tracking, once the page has loaded (as a visitor meets it:
// form tracking, for one, watches forms from then on), with its query's
// parameters (collector, key, email, and the query itself), then marks the
// page done for browser.cjs, reporting what it threw.
window.run = (body) => {
  const q = new URLSearchParams(location.search);
  const loaded = document.readyState === 'complete' ? Promise.resolve() : new Promise((r) => window.addEventListener('load', r, { once: true }));
  loaded.then(() => body({ collector: q.get('collector'), key: q.get('key'), email: q.get('email'), query: q }))
    .catch((e) => window.report.errors.push({ lib: 'page', error: String((e && e.stack) || e) }))
    .finally(() => { window.done = true; });
};

// settle waits until a tracker has had n events answered and nothing is in
// flight (at most 10 s).
window.settle = async (lib, n) => {
  for (let i = 0; i < 200 && (window.pending > 0 || window.sent(lib) < n); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
};
