// The real-browser test of omv-web's page: headless Chromium (the
// distribution's, not a downloaded one) driven by playwright-core.
//
// usage: node browser.js URL-WITH-TOKEN SCREENSHOT-DIR
// Exit status: 0 passed, 1 failed, 77 skipped (no playwright-core or
// browser), as meson counts them.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");

const SKIP = 77;
const BROWSER = process.env.OMV_CHROMIUM || "/usr/bin/chromium";

function skip(why) {
  console.log("SKIP: " + why);
  process.exit(SKIP);
}

let chromium;
try {
  ({ chromium } = require("playwright-core"));
} catch (err) {
  skip("playwright-core is not installed (npm install playwright-core, then set NODE_PATH " +
       "to its node_modules)");
}
if (!fs.existsSync(BROWSER)) skip(BROWSER + " is not installed (apt-get install chromium)");

const [url, outDir] = process.argv.slice(2);
if (!url || !outDir) {
  console.error("usage: node browser.js URL SCREENSHOT-DIR");
  process.exit(2);
}

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok: " + what);
}

async function frameNumber(page) {
  const text = await page.textContent("#frame-number");
  return /^\d+$/.test(text) ? parseInt(text, 10) : 0;
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "omv-web-chromium-"));
  // A fresh profile (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: BROWSER,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (err) => errors.push(String(err)));

    // The token in the address is traded for a cookie, and dropped.
    await page.goto(url);
    check(!page.url().includes("token="), "the token left the address bar");

    // The picture arrives and moves on.
    await page.waitForFunction(() => /^\d+$/.test(document.getElementById("frame-number").textContent),
                               null, { timeout: 20000 });
    const n1 = await frameNumber(page);
    const shot1 = await page.locator("#view").screenshot();
    await page.waitForFunction((n) => parseInt(document.getElementById("frame-number").textContent, 10) >= n + 5,
                               n1, { timeout: 20000 });
    const n2 = await frameNumber(page);
    const shot2 = await page.locator("#view").screenshot();
    check(n2 > n1, `the frame number advanced (${n1} -> ${n2})`);
    check(!shot1.equals(shot2), "two screenshots of the picture differ");
    await page.waitForFunction(() => parseInt(document.getElementById("fps").textContent, 10) > 0,
                               null, { timeout: 10000 });
    check(true, "frames/s shown: " + await page.textContent("#fps"));

    // Cam info and the clients of omvd are shown.
    await page.waitForFunction(() => document.getElementById("info").textContent.includes("firmware"),
                               null, { timeout: 10000 });
    await page.waitForFunction(() => document.querySelectorAll("#clients tbody tr").length > 0,
                               null, { timeout: 10000 });
    check(true, "cam info and clients shown");

    // Run a script from the page, see its output, stop it.
    const marker = "from the page " + process.pid;
    await page.fill("#script", `import time\nwhile True:\n    print("${marker}")\n    time.sleep_ms(50)\n`);
    await page.click("#run");
    await page.waitForFunction((m) => document.getElementById("stdout").textContent.includes(m),
                               marker, { timeout: 20000 });
    check(true, "the script's output appeared");
    await page.waitForFunction(() => document.getElementById("script-state").textContent.startsWith("running"),
                               null, { timeout: 10000 });
    await page.click("#stop");
    await page.waitForFunction(() => document.getElementById("script-state").textContent === "idle",
                               null, { timeout: 20000 });
    check(true, "the script stopped");

    fs.mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: path.join(outDir, "omv-web.png") });
    check(errors.length === 0, "no script errors on the page" + (errors.length ? ": " + errors.join("; ") : ""));
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  console.error("FAIL: " + (err && err.stack || err));
  process.exit(1);
});
