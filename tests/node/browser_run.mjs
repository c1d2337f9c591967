// Opens PAGE_URL in headless Chromium (CHROMIUM: its executable), waits for the page's
// window.result, and prints it as JSON with the console errors the page logged.
import { chromium } from "playwright-core";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  const console_errors = [];
  page.on("console", (m) => { if (m.type() === "error") console_errors.push(m.text()); });
  await page.goto(process.env.PAGE_URL);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 60_000 });
  const result = await page.evaluate(() => window.result);
  console.log(JSON.stringify({ result, console_errors }));
} finally {
  await browser.close();
}
