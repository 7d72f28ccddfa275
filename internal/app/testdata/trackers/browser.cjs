// browser.cjs opens pages in Chromium (Debian's, driven by playwright-core
// from npm) for TestBrowserTracker: each runs a tracker against accord serve on
// another origin, so every request crosses origins with CORS, as on a real shop.
//
//   NODE_PATH=<dir>/node_modules node browser.cjs <chromium> <page URL>...
//
// It prints the pages' reports, merged (the format of send.cjs), on stdout, and
// what the pages logged on stderr.
'use strict';
const { chromium } = require('playwright-core');

const [executablePath, ...urls] = process.argv.slice(2);
if (!executablePath || urls.length === 0) {
  console.error('usage: node browser.cjs <chromium> <page URL>...');
  process.exit(2);
}

(async () => {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    // As this machine needs: no sandbox as root, and nothing that reaches out to
    // the network beyond loopback.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const report = { requests: [], errors: [] };
    for (const url of urls) {
      const page = await browser.newPage();
      page.on('console', (m) => console.error(`page ${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
      // Requests in flight, beacons included: a beacon leaves when the browser
      // gets round to it, and closing the page first would drop it.
      let inFlight = 0;
      page.on('request', () => inFlight++);
      page.on('requestfinished', () => inFlight--);
      page.on('requestfailed', () => inFlight--);
      await page.goto(url);
      await page.waitForFunction(() => window.done === true, null, { timeout: 60000 });
      for (let i = 0; i < 300 && inFlight > 0; i++) await new Promise((r) => setTimeout(r, 50));
      const r = await page.evaluate(() => window.report);
      report.requests.push(...r.requests);
      report.errors.push(...r.errors);
      await page.close();
    }
    process.stdout.write(JSON.stringify(report) + '\n');
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
