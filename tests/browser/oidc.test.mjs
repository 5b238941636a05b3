// Sign-in to the OpenPIM web UI through a real OpenID provider (panva's oidc-provider,
// tests/oidc/provider.mjs), in Debian's Chromium: bob signs in at the provider's login page,
// activates a role whose policy needs MFA, is sent back to the provider (prompt=login), signs in
// again with MFA and finds the role active; alice signs in and signs out, at the provider too.
// Screenshots go to test-artifacts/browser/oidc-*.png.
//
// Run through scripts/test-browser.sh (it builds the binary, and installs the packages of
// tests/browser and tests/oidc).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, BIN, ROOT, assertFlash, freePort, launchBrowser, screenshots, startServer } from './harness.mjs';

const BOB = 'bob@openpim.test';
const ALICE = 'alice@openpim.test';
const USER_ADMIN = 'User Administrator';
const USER_ADMIN_ID = 'fe930be7-5e62-47db-91af-98c3a49a38b1';
const PROVIDER_NAME = 'Test IdP';

let provider;
let issuer;
let server;
let data;
let origin;
let browser;
const snap = screenshots('oidc-');

async function api(method, path, tok, body) {
  const resp = await fetch(`${origin}${path}`, {
    method,
    headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The provider's login page (devInteractions): any password; the login names the account. */
async function loginAtProvider(page, login) {
  await page.waitForURL((url) => url.href.startsWith(issuer));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

async function signInWithProvider(login, upn) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${origin}/signin`);
  await page.getByRole('link', { name: `Sign in with ${PROVIDER_NAME}` }).click();
  await loginAtProvider(page, login);
  await page.waitForURL(`${origin}/`);
  await assertFlash(page, `Signed in as ${upn} with ${PROVIDER_NAME}.`);
  return page;
}

before(async () => {
  assert.ok(existsSync(join(ROOT, 'tests', 'oidc', 'node_modules', 'oidc-provider')), 'run npm ci in tests/oidc');
  data = mkdtempSync(join(tmpdir(), 'openpim-browser-oidc-'));
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;

  // The provider first: OpenPIM needs its issuer URL; it needs OpenPIM's redirect URIs.
  provider = spawn('node', ['provider.mjs'], {
    cwd: join(ROOT, 'tests', 'oidc'),
    stdio: ['pipe', 'pipe', openSync(join(data, 'provider.log'), 'w')],
    env: {
      ...process.env,
      OIDC_AUDIENCE: 'api://openpim',
      OIDC_WEB_REDIRECT: `${origin}/signin/oidc/callback`,
      OIDC_WEB_POST_LOGOUT: `${origin}/signin`,
    },
  });
  const firstLine = await new Promise((ok, fail) => {
    createInterface({ input: provider.stdout }).once('line', ok);
    provider.once('exit', () => fail(new Error(`the provider exited: ${readFileSync(join(data, 'provider.log'), 'utf8')}`)));
  });
  issuer = JSON.parse(firstLine).issuer;

  // The client secret from a file, as a deployment would keep it.
  const secretFile = join(data, 'web-client-secret');
  writeFileSync(secretFile, 'openpim-web-secret\n', { mode: 0o600 });
  ({ server } = await startServer(data, {
    port,
    extraArgs: [
      '--oidc-issuer', issuer, '--oidc-audience', 'api://openpim',
      '--oidc-client-id', 'openpim-web', '--oidc-client-secret-file', secretFile,
      '--oidc-display-name', PROVIDER_NAME,
    ],
  }));
  // The directory: bob and alice (as the provider names them), bob eligible for User Administrator.
  const admin = execFileSync(BIN, ['token', '--data', data, '--user', ADMIN, '--mfa'], { encoding: 'utf8' }).trim();
  const ids = {};
  for (const [upn, name] of [[BOB, 'Bob Builder'], [ALICE, 'Alice Approver']]) {
    const user = await api('POST', '/v1.0/users', admin, {
      accountEnabled: true, displayName: name, userPrincipalName: upn, mailNickname: upn.split('@')[0],
    });
    ids[upn] = user.id;
  }
  await api('POST', '/v1.0/roleManagement/directory/roleEligibilityScheduleRequests', admin, {
    action: 'adminAssign', principalId: ids[BOB], roleDefinitionId: USER_ADMIN_ID, directoryScopeId: '/',
    justification: 'Bob joins the helpdesk rota', scheduleInfo: { expiration: { type: 'noExpiration' } },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const child of [server, provider]) {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
  if (data) rmSync(data, { recursive: true, force: true });
});

test('bob signs in at the provider and steps up to MFA to activate a role; alice signs out', async () => {
  // 1. Bob signs in through the provider; his sign-in there has no MFA.
  const bob = await signInWithProvider('bob', BOB);
  await snap(bob, 'bob-signed-in');

  // 2. Activating User Administrator needs MFA: the browser goes back to the provider, which
  //    asks for the login again (prompt=login) and this time asserts MFA.
  await bob.goto(`${origin}/my-roles`);
  await bob.locator('section[aria-labelledby="eligible-h"] tbody tr', { hasText: USER_ADMIN })
    .getByRole('link', { name: `Activate ${USER_ADMIN}` })
    .click();
  await bob.getByLabel('Justification (required)').fill('INC-4711 password resets');
  await bob.getByRole('button', { name: 'Activate', exact: true }).click();
  await bob.waitForURL((url) => url.href.startsWith(issuer));
  assert.equal(new URL(bob.url()).origin, new URL(issuer).origin, 'step-up happens at the provider');
  await snap(bob, 'bob-asked-to-sign-in-again');
  await loginAtProvider(bob, 'bob');

  // 3. Back in OpenPIM, the activation is completed with the new sign-in.
  await bob.waitForURL(`${origin}/my-roles?tab=active`);
  await assertFlash(bob, `${USER_ADMIN} is active.`);
  const active = bob.locator('section[aria-labelledby="active-h"] tbody tr', { hasText: USER_ADMIN });
  await active.waitFor();
  assert.ok((await active.innerText()).includes('Activated'));
  await snap(bob, 'bob-role-active-after-step-up');

  // 4. Alice signs in and signs out; the provider ends its session too and sends her back.
  const alice = await signInWithProvider('alice', ALICE);
  await alice.getByRole('button', { name: 'Sign out' }).click();
  await alice.waitForURL((url) => url.href.startsWith(issuer));
  await snap(alice, 'alice-provider-sign-out');
  await alice.getByRole('button', { name: 'Yes, sign me out' }).click();
  await alice.waitForURL(`${origin}/signin`);
  await alice.getByRole('link', { name: `Sign in with ${PROVIDER_NAME}` }).waitFor();
  await alice.goto(`${origin}/`);
  await alice.waitForURL(`${origin}/signin`);
  await snap(alice, 'alice-signed-out');
});
