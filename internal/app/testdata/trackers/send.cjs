// send.cjs drives accord serve with the tracker libraries producers use, as they
// come from the npm registry: Snowplow's Node tracker (tracker-core, the same
// core as the browser tracker) by POST and by GET, Segment's analytics-node
// (and its legacy analytics-node 6) and RudderStack's Node SDK. TestRealTrackers (trackers_test.go) runs it:
//
//   NODE_PATH=<dir>/node_modules node send.cjs <collector URL> <write key> <email> <ip>
//
// It prints one JSON report on stdout: every request a library made (its route,
// status, the event ids it sent in order, the collector's answer) and every
// error a library reported (with the HTTP status behind it). The Go test checks
// the answers and the stored rows.
'use strict';
const zlib = require('node:zlib');

const [base, writeKey, email, ip] = process.argv.slice(2);
if (!base || !writeKey || !email || !ip) {
  console.error('usage: node send.cjs <collector URL> <write key> <email> <ip>');
  process.exit(2);
}
const report = { requests: [], errors: [] };

// ids lists the event ids a request carries, read from its body or query as the
// collector will: tp2 payload_data (eid), a pixel's query (eid), a Segment or
// RudderStack batch (messageId).
function ids(url, body) {
  const u = new URL(url);
  if (u.pathname === '/i') return [u.searchParams.get('eid')];
  const doc = JSON.parse(body);
  if (Array.isArray(doc.batch)) return doc.batch.map((m) => m.messageId);
  return doc.data.map((e) => e.eid);
}

// failure is the report's entry for an error a library reported, with the HTTP
// status that caused it when there was one (axios errors carry the answer,
// analytics-node's messages start with "[status]"): which requests should
// have been refused, the test knows from the recorded answers.
function failure(lib, err) {
  let status = 0;
  if (err && err.response && err.response.status) status = err.response.status;
  const m = /^\[(\d{3})\]/.exec(String(err && err.message ? err.message : err));
  if (m) status = Number(m[1]);
  return { lib, status, error: String(err && err.message ? err.message : err) };
}

// start records a request as it is sent, so that the report lists requests in
// the order the library sent them; finish adds the collector's answer.
function start(lib, method, url, sent) {
  const entry = { lib, method, path: new URL(url).pathname, status: 0, ids: sent, answer: null };
  report.requests.push(entry);
  return entry;
}

function finish(entry, status, answer) {
  entry.status = status;
  try { entry.answer = JSON.parse(answer); } catch { entry.answer = null; }
}

// Snowplow's and Segment's libraries send with the global fetch: wrap it before
// they load, so that every request and answer is seen as the library sent it.
const realFetch = globalThis.fetch;
let currentLib = '';
globalThis.fetch = async (input, init) => {
  const lib = currentLib;
  const req = new Request(input, init);
  const body = req.method === 'GET' ? '' : await req.clone().text();
  const entry = start(lib, req.method, req.url, ids(req.url, body));
  const resp = await realFetch(req);
  finish(entry, resp.status, await resp.clone().text());
  return resp;
};

const sp = require('@snowplow/node-tracker');
const { Analytics: Segment } = require('@segment/analytics-node');
const Rudder = require('@rudderstack/rudder-sdk-node');
const SegmentLegacy = require('analytics-node');

const ua = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';

// snowplow tracks the same six events with a tracker configured by emitter:
// a signup (with the web_page entity the JavaScript tracker attaches), a page
// view whose URL carries the email in its query, a structured event, a page
// ping, a signup that breaks its contract, and a screen view, for which the
// registry has no contract.
async function snowplow(lib, emitter, encodeBase64) {
  currentLib = lib;
  const t = sp.newTracker({ namespace: 'accord-test', appId: 'shop-server', encodeBase64 }, {
    endpoint: base,
    bufferSize: 10,
    retryFailedRequests: false,
    onRequestFailure: (f, r) => report.errors.push({ lib, status: r ? r.status : 0, error: `request failed: ${r ? r.status : 'no answer'}` }),
    ...emitter,
  });
  const webPage = { schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: '0b3c8a2e-6a5e-4a52-9a43-7a1f0b2c9d10' } };
  t.track(sp.buildSelfDescribingEvent({ event: { schema: 'iglu:com.acme/signup/jsonschema/1-0-0', data: { shop_id: 'shop_7', email, ip, user_agent: ua } } }), [webPage]);
  t.track(sp.buildPageView({ pageUrl: `https://shop.example/cart?email=${encodeURIComponent(email)}`, pageTitle: 'Cart' }), [webPage]);
  t.track(sp.buildStructEvent({ category: 'cart', action: 'add', label: 'sku-1', property: 'size', value: 3 }));
  t.track(sp.buildPagePing({ pageUrl: 'https://shop.example/cart', minXOffset: 5, maxXOffset: 10, minYOffset: 20, maxYOffset: 400 }));
  t.track(sp.buildSelfDescribingEvent({ event: { schema: 'iglu:com.acme/signup/jsonschema/1-0-0', data: { shop_id: 'not-a-shop', email } } }));
  t.track(sp.buildScreenView({ name: 'home', id: '5e2da0c7-7ec5-4a11-8fa0-6a22bb19bd77' }));
  t.track(sp.buildSelfDescribingEvent({ event: { schema: 'iglu:com.acme/wishlist_added/jsonschema/1-0-0', data: { sku: 'sku-1' } } }));
  await t.flush();
}

// segmentCalls makes one call of each type on a Segment-compatible client, and
// a track call of an event name that no contract declares.
function segmentCalls(a, cb) {
  const context = { ip, userAgent: ua };
  a.track({ userId: 'u_1001', event: 'Signed Up', properties: { shop_id: 'shop_7', email }, context }, cb);
  a.identify({ userId: 'u_1001', traits: { email, plan: 'pro' }, context }, cb);
  a.page({ userId: 'u_1001', anonymousId: 'anon-1', name: 'Cart', category: 'Shop', properties: { url: `https://shop.example/cart?email=${encodeURIComponent(email)}`, title: 'Cart' }, context }, cb);
  a.screen({ userId: 'u_1001', name: 'Home', properties: { shop_id: 'shop_7' } }, cb);
  a.group({ userId: 'u_1001', groupId: 'g_42', traits: { employees: 12 } }, cb);
  a.alias({ userId: 'u_1001', previousId: 'anon-1' }, cb);
  a.track({ anonymousId: 'anon-2', event: 'Wishlist Shared', properties: { email } }, cb);
}

async function segment() {
  currentLib = 'segment';
  const a = new Segment({ writeKey, host: base, flushAt: 20, flushInterval: 100, maxRetries: 0 });
  a.on('error', (e) => report.errors.push(failure('segment', e && (e.reason || e))));
  segmentCalls(a, (err) => { if (err) report.errors.push(failure('segment', err)); });
  await a.closeAndFlush({ timeout: 10000 });
}

// RudderStack's SDK and Segment's legacy analytics-node post with axios (the
// first gzipped by default): their requests and answers are read through
// interceptors of the axios instance each is given, a documented option of both,
// made from the axios the library itself depends on.
function recordedAxios(lib, pkg) {
  const axios = require(require.resolve('axios', { paths: [require.resolve(pkg)] }));
  const http = axios.create();
  http.interceptors.request.use((c) => {
    const gzipped = String((c.headers && (c.headers['Content-Encoding'] || c.headers['content-encoding'])) || '') === 'gzip';
    const body = gzipped ? zlib.gunzipSync(c.data) : (typeof c.data === 'string' ? c.data : JSON.stringify(c.data));
    c.entry = start(lib, c.method.toUpperCase(), c.url, ids(c.url, body.toString()));
    return c;
  });
  const seen = (resp) => finish(resp.config.entry, resp.status, JSON.stringify(resp.data));
  http.interceptors.response.use((resp) => { seen(resp); return resp; }, (err) => {
    if (err && err.response) seen(err.response);
    return Promise.reject(err);
  });
  return http;
}

async function axiosLibrary(lib, pkg, make) {
  const errorHandler = (e) => report.errors.push(failure(lib, e));
  const a = make(recordedAxios(lib, pkg), errorHandler);
  await new Promise((resolve) => {
    segmentCalls(a, (err) => { if (err) report.errors.push(failure(lib, err)); });
    a.flush(() => resolve());
  });
  // analytics-node 6 sends the first message at once, on its own, and its flush
  // calls back without waiting for that request: wait for every answer.
  for (let i = 0; i < 500 && report.requests.some((r) => r.lib === lib && r.status === 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

(async () => {
  await snowplow('snowplow-post', { customHeaders: { 'X-Accord-Write-Key': writeKey } }, true);
  await snowplow('snowplow-get', { eventMethod: 'get' }, false);
  await segment();
  await axiosLibrary('rudderstack', '@rudderstack/rudder-sdk-node', (axiosInstance, errorHandler) =>
    new Rudder(writeKey, { dataPlaneUrl: base, flushAt: 20, flushInterval: 100, retryCount: 0, axiosInstance, logLevel: 'error', errorHandler }));
  // Segment's previous Node library, deprecated but still in many services.
  await axiosLibrary('segment-legacy', 'analytics-node', (axiosInstance, errorHandler) =>
    new SegmentLegacy(writeKey, { host: base, flushAt: 20, flushInterval: 100, retryCount: 0, axiosInstance, errorHandler }));
  process.stdout.write(JSON.stringify(report) + '\n');
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
