// snowplow.js is the tracking of the Snowplow pages (page.html for the browser
// tracker of today, page3.html for version 3, still on many sites): the same
// events go out through a tracker of each configuration given, one tracker after
// the other: a page view (the page's URL carries the email in its query), a
// signup, a structured event and a signup that breaks its contract, each with
// the entities the configuration turns on (web_page at least). A tracker's
// more(lib), when given, tracks further events and returns how many.
window.trackSnowplow = async (sp, collector, email, trackers) => {
  for (const { lib, more, ...config } of trackers) {
    sp.newTracker(lib, collector, {
      appId: 'shop-web', bufferSize: 1, retryFailedRequests: false,
      onRequestFailure: (f, r) => window.report.errors.push({ lib, status: r ? r.status : 0, error: 'request failed: ' + (r ? r.status : 'no answer') }),
      ...config,
    });
    sp.trackPageView({}, [lib]);
    sp.trackSelfDescribingEvent({ event: { schema: 'iglu:com.acme/signup/jsonschema/1-0-0', data: { shop_id: 'shop_7', email } } }, [lib]);
    sp.trackStructEvent({ category: 'cart', action: 'add', label: 'sku-1', property: 'size', value: 3 }, [lib]);
    sp.trackSelfDescribingEvent({ event: { schema: 'iglu:com.acme/signup/jsonschema/1-0-0', data: { shop_id: 'not-a-shop', email } } }, [lib]);
    const n = 4 + (more ? more(lib) : 0);
    await sp.flushBuffer({}, [lib]);
    await window.settle(lib, n);
  }
};
