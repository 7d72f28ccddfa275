// record.js wraps the page's fetch before any tracker loads, so that every
// request a tracker makes and the collector's answer are recorded as the
// tracker sent them, in the report format of send.cjs (window.report). The
// tracker is told by the route: Snowplow's pixels (/i) and posts (tp2),
// analytics.js batches (/v1/b) and single calls (/v1/t, /v1/p, ...).
window.report = { requests: [], errors: [] };
window.pending = 0;
(function () {
  const realFetch = window.fetch.bind(window);
  const trackerOf = (path) => {
    if (path === '/i') return 'browser-get';
    if (path.endsWith('/tp2')) return 'browser-post';
    if (path === '/v1/b') return 'analytics.js-batching';
    return 'analytics.js';
  };
  const ids = (url, body) => {
    if (url.pathname === '/i') return [url.searchParams.get('eid')];
    const doc = JSON.parse(body);
    if (Array.isArray(doc.batch)) return doc.batch.map((m) => m.messageId);
    if (Array.isArray(doc.data)) return doc.data.map((e) => e.eid);
    return [doc.messageId];
  };
  window.fetch = async (input, init) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.origin === location.origin) return realFetch(req);
    const lib = trackerOf(url.pathname);
    const body = req.method === 'GET' ? '' : await req.clone().text();
    // Listed as sent, so that the report keeps the tracker's order.
    const entry = { lib, method: req.method, path: url.pathname, status: 0, ids: ids(url, body), answer: null };
    window.report.requests.push(entry);
    window.pending++;
    try {
      const resp = await realFetch(req);
      entry.status = resp.status;
      try { entry.answer = JSON.parse(await resp.clone().text()); } catch (e) { entry.answer = null; }
      return resp;
    } catch (e) {
      window.report.errors.push({ lib, error: String(e) });
      throw e;
    } finally {
      window.pending--;
    }
  };
})();

// sent counts the events a tracker has had answered.
window.sent = (lib) => window.report.requests.filter((r) => r.lib === lib).reduce((n, r) => n + r.ids.length, 0);

// settle waits until a tracker has had n events answered and nothing is in
// flight (at most 10 s).
window.settle = async (lib, n) => {
  for (let i = 0; i < 200 && (window.pending > 0 || window.sent(lib) < n); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
};
