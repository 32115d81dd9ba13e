import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's `chromium` package (`apt-get install chromium`); nothing downloads a browser. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Launches it; `args` are more command-line switches. */
export function launchChromium(args: string[] = []): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-dev-shm-usage", ...args] });
}

export const screenshotDir = resolve(import.meta.dirname, "../test-results/screenshots");

export const viewports = { laptop: { width: 1366, height: 860 }, phone: { width: 390, height: 844 } } as const;

/** Saves the page on a laptop and on a phone-sized viewport, as `NN-step-laptop.png` / `-phone.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}-laptop.png`), fullPage: true });
  await page.setViewportSize(viewports.phone);
  await page.screenshot({ path: join(screenshotDir, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(viewports.laptop);
}
