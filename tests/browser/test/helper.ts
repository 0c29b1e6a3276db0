// What a browser test needs: Debian's chromium (installed with apt-get when missing and we are root),
// launched headless through playwright-core, closed at teardown; and where screenshots go.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Screenshots land here (under .tap/, which git ignores), one file per test step. */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../.tap/screenshots/', import.meta.url))

/** null when chromium is there (installing it if we can), else why the browser tests cannot run. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null
  const root = process.getuid?.() === 0
  const aptGet = ['/usr/bin/apt-get', '/bin/apt-get'].find((path) => existsSync(path))
  if (!root || !aptGet) {
    return `${CHROMIUM} is missing and cannot be installed here (${root ? 'no apt-get' : 'not root'}): install Debian's chromium package, or set CHROMIUM_PATH`
  }
  try {
    execFileSync(aptGet, ['update', '-qq'], { stdio: 'ignore', timeout: 300_000 })
    execFileSync(aptGet, ['install', '-y', '-qq', 'chromium'], {
      stdio: 'ignore',
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
  } catch (error) {
    return `${CHROMIUM} is missing and "apt-get install chromium" failed: ${(error as Error).message.split('\n')[0]}`
  }
  return existsSync(CHROMIUM) ? null : `apt-get installed chromium but ${CHROMIUM} is still missing`
}

export async function launchBrowser(t: { teardown(fn: () => unknown): void }): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  })
  t.teardown(() => browser.close())
  return browser
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  return `${SCREENSHOT_DIR}${name}.png`
}
