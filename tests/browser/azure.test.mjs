// The web UI's Azure journey (issue #16), driven in Debian's Chromium by playwright-core against a
// real `openpim serve`: the admin makes a user eligible for Reader at a subscription from the
// "Azure resources" pages, the user activates it at a resource group below from My roles, and
// sees it active there. Screenshots go to test-artifacts/browser/azure-*.png.
//
// Run through scripts/test-browser.sh, which builds the binary and installs what is needed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as harness from './harness.mjs';
import { ADMIN, BIN, assertFlash, launchBrowser, screenshots, startServer } from './harness.mjs';

const DANA = 'dana@openpim.local';
const SUB = '5b0c1a2d-0000-4000-8000-00000000b016';
const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
const ARM = 'https://management.azure.com/';

let server;
let data;
let origin;
let browser;
const snap = screenshots('azure-');

/** A request to the server (Graph under /v1.0, ARM at its own paths); fails on an error. */
const call = (method, path, tok, body) => harness.call(origin, method, path, tok, body);

function token(upn, audience) {
  const args = ['token', '--data', data, '--user', upn, '--mfa'];
  if (audience) args.push('--audience', audience);
  return execFileSync(BIN, args, { encoding: 'utf8' }).trim();
}

async function signedIn(upn) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${origin}/signin`);
  await page.getByLabel('Bearer token').fill(token(upn));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${origin}/`);
  await assertFlash(page, `Signed in as ${upn}.`);
  return page;
}

before(async () => {
  data = mkdtempSync(join(tmpdir(), 'openpim-browser-azure-'));
  ({ server, origin } = await startServer(data));
  // A user, a subscription the admin owns, and a resource group in it.
  const graph = token(ADMIN);
  await call('POST', '/v1.0/users', graph, {
    accountEnabled: true,
    displayName: 'Dana Deployer',
    userPrincipalName: DANA,
    mailNickname: 'dana',
  });
  const arm = token(ADMIN, ARM);
  await call('POST', '/providers/Microsoft.Authorization/elevateAccess?api-version=2016-07-01', arm);
  await call('PUT', `/openpim/azure/subscriptions/${SUB}`, graph, { displayName: 'Production' });
  const me = await call('GET', '/v1.0/me', graph);
  await call(
    'PUT',
    `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`,
    arm,
    {
      properties: {
        roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${OWNER}`,
        principalId: me.id,
      },
    },
  );
  await call('PUT', `/subscriptions/${SUB}/resourceGroups/web?api-version=2021-04-01`, arm, { location: 'westeurope' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (data) rmSync(data, { recursive: true, force: true });
});

test('admin makes dana eligible at a subscription; dana activates at a resource group from My roles', async () => {
  // 1. The admin finds the subscription in the tree and adds the eligibility there.
  const admin = await signedIn(ADMIN);
  await admin.getByRole('link', { name: 'Azure resources', exact: true }).click();
  await admin.getByRole('heading', { level: 1, name: 'Azure resources' }).waitFor();
  await admin.getByRole('link', { name: 'web', exact: true }).waitFor();
  await snap(admin, 'tree');
  await admin.getByRole('link', { name: 'Production', exact: true }).click();
  await admin.getByRole('heading', { level: 1, name: `Subscription ${SUB}` }).waitFor();
  const add = admin.locator('form[action="/azure/assign"]');
  await add.getByLabel('Role', { exact: true }).selectOption({ label: 'Reader' });
  await add.getByLabel('Principal (user sign-in name or group name)').fill(DANA);
  await add.getByLabel('Eligible', { exact: true }).check();
  await add.getByLabel('Duration (days)').fill('30');
  await add.getByLabel('Justification', { exact: true }).fill('Dana deploys the web tier');
  await add.getByRole('button', { name: 'Add assignment' }).click();
  await assertFlash(admin, 'AdminAssign: Provisioned');
  await admin.locator('section[aria-labelledby="eligible-h"] tbody tr', { hasText: 'Dana Deployer' }).waitFor();
  await snap(admin, 'admin-made-dana-eligible');

  // 2. Dana sees the eligibility on My roles and activates it at the resource group.
  const dana = await signedIn(DANA);
  const card = dana.locator('section[aria-labelledby="azure-h"] article.role', {
    has: dana.getByRole('heading', { name: 'Reader', exact: true }),
  });
  await card.waitFor();
  const where = card.getByLabel('Activate at');
  assert.equal(await where.inputValue(), `/subscriptions/${SUB}`, 'the eligibility scope is preselected');
  await where.selectOption({ label: 'Resource group web' });
  await card.getByLabel('Duration').fill('1');
  await card.getByLabel('Justification').fill('Release 42');
  await snap(dana, 'dana-activates-at-web');
  await card.getByRole('button', { name: 'Activate' }).click();
  await assertFlash(dana, 'Active at Resource group web.');

  // 3. It is active there, with Deactivate offered.
  const row = dana.locator('table[aria-labelledby="azure-active-h"] tbody tr', { hasText: 'Reader' });
  await row.waitFor();
  const text = await row.innerText();
  assert.ok(text.includes('Activated'), text);
  assert.ok(text.includes('web'), text);
  await row.getByRole('button', { name: /Deactivate Reader/ }).waitFor();
  await snap(dana, 'dana-sees-reader-active');
});
