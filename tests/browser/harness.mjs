// What every browser journey needs: where the binary and the screenshots are, a real
// `openpim serve` on a free port (SQLite in a fresh data directory, whatever the caller's
// environment says), Debian's Chromium through playwright-core, and the small page helpers the
// journeys share. Each journey file keeps only its own story.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.OPENPIM_BIN || join(ROOT, 'target', 'debug', 'openpim');
export const SHOTS = join(ROOT, 'test-artifacts', 'browser');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ADMIN = 'admin@openpim.local';

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts `openpim serve` for the admin in `data` (on `port`, else a free one) with `extraArgs` and
 * `extraEnv`, and waits
 * until /healthz answers (a minute at most; the server's log is in the failure message).
 * Returns { server, origin }.
 */
export async function startServer(data, { port, extraArgs = [], extraEnv = {} } = {}) {
  assert.ok(existsSync(BIN), `${BIN} is missing: run scripts/test-browser.sh (it builds it)`);
  mkdirSync(SHOTS, { recursive: true });
  port = port ?? (await freePort());
  const origin = `http://127.0.0.1:${port}`;
  const log = openSync(join(data, 'server.log'), 'w');
  const env = { ...process.env, OPENPIM_LOG: 'warn', ...extraEnv };
  delete env.OPENPIM_DATABASE_URL;
  const server = spawn(
    BIN,
    ['serve', '--listen', `127.0.0.1:${port}`, '--data', data, '--bootstrap-admin', ADMIN, ...extraArgs],
    { stdio: ['ignore', log, log], env },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    assert.equal(server.exitCode, null, `openpim serve exited:\n${readFileSync(join(data, 'server.log'), 'utf8')}`);
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    assert.ok(Date.now() < deadline, 'openpim serve did not become healthy');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { server, origin };
}

/** Headless Debian Chromium (never a downloaded browser). */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
}

/** A JSON request to the server at `origin` (Graph or ARM path) that must succeed. */
export async function call(origin, method, path, tok, body) {
  const resp = await fetch(`${origin}${path}`, {
    method,
    headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A screenshot taker for one journey: `prefix-NN-name.png` in test-artifacts/browser. */
export function screenshots(prefix) {
  let shot = 0;
  return async (page, name) => {
    shot += 1;
    await page.screenshot({
      path: join(SHOTS, `${prefix}${String(shot).padStart(2, '0')}-${name}.png`),
      fullPage: true,
    });
  };
}

/** The page's first flash message contains `text`. */
export async function assertFlash(page, text) {
  const flash = page.locator('p.flash').first();
  await flash.waitFor();
  const got = await flash.innerText();
  assert.ok(got.includes(text), `expected a message with "${text}", got "${got}"`);
}

// axe-core's browser bundle, injected into pages by `inspectPage`.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// WCAG 2.1 A and AA: what issue #20 asks of every page.
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * One page as it stands: a full-page screenshot `pages/<name>.png` in test-artifacts/browser, and an
 * axe-core WCAG 2.1 AA check that fails the test on any serious or critical violation (each listed
 * with its rule, help text and the offending elements).
 */
export async function inspectPage(page, name) {
  mkdirSync(join(SHOTS, 'pages'), { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'pages', `${name}.png`), fullPage: true });
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) {
    // A page's CSP (default-src 'self') blocks an injected <script>; DevTools' evaluate is not
    // subject to it, so the bundle is evaluated the way the test's own page.evaluate calls are.
    await page.evaluate(AXE_SOURCE);
  }
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  const blocking = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const described = blocking.map(
    (v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join('\n    ')}`,
  );
  assert.deepEqual(described, [], `axe-core found serious or critical violations on "${name}" (${page.url()})`);
}
