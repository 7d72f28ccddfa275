// browser.cjs opens page.html in Chromium (Debian's, driven by playwright-core
// from npm) for TestBrowserTracker: the page runs Snowplow's browser tracker
// against accord serve on another origin, so every request crosses origins with
// CORS and credentials, as on a real shop.
//
//   NODE_PATH=<dir>/node_modules node browser.cjs <chromium> <page URL>
//
// It prints the page's report (the format of send.cjs) on stdout, and what the
// page logged on stderr.
'use strict';
const { chromium } = require('playwright-core');

const [executablePath, url] = process.argv.slice(2);
if (!executablePath || !url) {
  console.error('usage: node browser.cjs <chromium> <page URL>');
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
    const page = await browser.newPage();
    page.on('console', (m) => console.error(`page ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => window.done === true, null, { timeout: 30000 });
    const report = await page.evaluate(() => window.report);
    process.stdout.write(JSON.stringify(report) + '\n');
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
