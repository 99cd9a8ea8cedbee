// Opens each HTML report in headless Chromium and prints one JSON line per
// file and viewport width: how wide the page lays out (scrollWidth against
// the viewport's width) and, at the widest viewport, the accessibility
// violations axe-core finds (WCAG 2.x A and AA rules and best practices).
//
//   node check.mjs [--screenshots DIR] FILE.html|URL...
//
// A URL (http://…) is opened as it is: a page the room service serves,
// under its own Content-Security-Policy (axe is injected over the DevTools
// protocol, which that policy does not govern). Each line also lists the
// page's table captions, so a test can find what a page shows.
//
// Chromium is Debian's (`CHROMIUM`, default /usr/bin/chromium): puppeteer's
// own browser download is never used.
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const WIDTHS = [1280, 390];

// A file's name without `.html`; a URL's last path segment, shortened.
const name = (f) => (/^https?:\/\//.test(f) ? "page-" + f.split("/").filter(Boolean).length : basename(f, ".html"));

const args = process.argv.slice(2);
let shots = null;
if (args[0] === "--screenshots") {
  shots = args[1];
  args.splice(0, 2);
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  // The reports carry no script; axe is the only one, injected here.
  await page.setJavaScriptEnabled(true);
  for (const file of args) {
    for (const width of WIDTHS) {
      await page.setViewport({ width, height: 900 });
      const url = /^https?:\/\//.test(file) ? file : pathToFileURL(file).href;
      const response = await page.goto(url, { waitUntil: "load" });
      const layout = await page.evaluate(() => {
        const clientWidth = document.documentElement.clientWidth;
        // Elements reaching past the viewport's right edge, outside any
        // box that scrolls them (a wide table scrolls in its own region).
        const clipped = (el) => {
          for (let p = el.parentElement; p; p = p.parentElement) {
            const o = getComputedStyle(p).overflowX;
            if (o === "auto" || o === "scroll" || o === "hidden") return true;
          }
          return false;
        };
        const past = [...document.querySelectorAll("body *")]
          .filter((el) => el.getBoundingClientRect().right > clientWidth + 1 && !clipped(el))
          .slice(0, 5)
          .map((el) => `${el.tagName.toLowerCase()}${el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : ""} right=${Math.round(el.getBoundingClientRect().right)}`);
        const captions = [...document.querySelectorAll("table caption")].map((c) => c.textContent.trim());
        return { scrollWidth: document.documentElement.scrollWidth, clientWidth, past, captions };
      });
      let violations = [];
      if (width === WIDTHS[0]) {
        await page.evaluate(axeSource);
        const result = await page.evaluate(() =>
          window.axe.run(document, {
            runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
            resultTypes: ["violations"],
          }),
        );
        violations = result.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
        }));
      }
      if (shots) {
        await page.screenshot({ path: join(shots, `${name(file)}-${width}.png`), fullPage: true });
      }
      const status = response ? response.status() : null;
      console.log(JSON.stringify({ file: name(file), width, status, ...layout, violations }));
    }
  }
} finally {
  await browser.close();
}
