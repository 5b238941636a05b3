// The web UI's Azure journey (issue #16), driven in Debian's Chromium by playwright-core against a
// real `openpim serve`: the admin makes a user eligible for Reader at a subscription from the
// "Azure resources" pages, the user activates it at a resource group below from My roles, and
// sees it active there. Then approvals: the admin requires approval for Contributor at the
// subscription in the role settings editor, a contractor eligible there activates at a resource
// group (pending), the approver approves on the Approvals page, and the contractor sees it active.
// Screenshots go to test-artifacts/browser/azure-*.png.
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
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const CASEY = 'casey@openpim.local';
const AVERY = 'avery@openpim.local';
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
  for (const [upn, name] of [
    [CASEY, 'Casey Contractor'],
    [AVERY, 'Avery Approver'],
  ]) {
    await call('POST', '/v1.0/users', graph, {
      accountEnabled: true,
      displayName: name,
      userPrincipalName: upn,
      mailNickname: upn.split('@')[0],
    });
  }
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
  await dana.goto(`${origin}/my-roles`);
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

test('admin requires approval at a subscription; casey activates at a resource group; avery approves', async () => {
  // Set-up through the API: Casey is eligible for Contributor at the subscription.
  const casey = await call('GET', `/v1.0/users/${CASEY}`, token(ADMIN));
  await call(
    'PUT',
    `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/${randomUUID()}?api-version=2020-10-01`,
    token(ADMIN, ARM),
    {
      properties: {
        principalId: casey.id,
        roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${CONTRIBUTOR}`,
        requestType: 'AdminAssign',
        justification: 'contract',
        scheduleInfo: { expiration: { type: 'AfterDuration', duration: 'P30D' } },
      },
    },
  );

  // 1. The admin opens Contributor's settings at the subscription and requires Avery's approval.
  const admin = await signedIn(ADMIN);
  await admin.getByRole('link', { name: 'Azure resources', exact: true }).click();
  await admin.getByRole('link', { name: 'Production', exact: true }).click();
  await admin.getByRole('link', { name: 'Settings of Contributor at this scope' }).first().click();
  await admin.getByRole('heading', { level: 1, name: `Contributor at Subscription ${SUB}` }).waitFor();
  await admin.getByLabel('Require approval to activate').check();
  await admin.getByLabel('Approvers (user sign-in names or group names, comma-separated)').fill(AVERY);
  await snap(admin, 'admin-requires-approval');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await assertFlash(admin, 'Saved: Approval_EndUser_Assignment.');
  assert.equal(await admin.getByLabel('Require approval to activate').isChecked(), true);

  // 2. Casey activates at the resource group: the request waits for approval.
  const contractor = await signedIn(CASEY);
  await contractor.goto(`${origin}/my-roles`);
  const card = contractor.locator('section[aria-labelledby="azure-h"] article.role', {
    has: contractor.getByRole('heading', { name: 'Contributor', exact: true }),
  });
  await card.waitFor();
  assert.ok((await card.innerText()).includes('Approval'), 'the card says approval is required');
  await card.getByLabel('Activate at').selectOption({ label: 'Resource group web' });
  await card.getByLabel('Duration').fill('1');
  await card.getByLabel('Justification').fill('Hotfix 7');
  await card.getByRole('button', { name: 'Request activation' }).click();
  await assertFlash(contractor, 'Your activation request is waiting for approval.');
  const pending = contractor.locator('table[aria-labelledby="azure-pending-h"] tbody tr', { hasText: 'Contributor' });
  await pending.waitFor();
  assert.ok((await pending.innerText()).includes('PendingApproval'));
  await snap(contractor, 'casey-pending');

  // 3. Avery sees it on the Approvals page, with its scope, and approves it.
  const approver = await signedIn(AVERY);
  await approver.getByRole('link', { name: 'Approvals' }).click();
  const request = approver.locator('table.approvals tbody tr', { hasText: `Casey Contractor (${CASEY})` }).filter({
    hasText: 'Contributor',
  });
  await request.waitFor();
  const facts = await request.innerText();
  assert.ok(facts.includes('Resource group web'), facts);
  assert.ok(facts.includes(`/subscriptions/${SUB}/resourceGroups/web`), facts);
  assert.ok(facts.includes('Hotfix 7'), facts);
  await approver.getByLabel('Reason').fill('Approved for the hotfix');
  await snap(approver, 'avery-approves');
  await request.getByRole('button', { name: /^Approve the request of/ }).click();
  await assertFlash(approver, 'The request is approved.');

  // 4. Casey's My roles: active at the resource group, nothing pending.
  await contractor.goto(`${origin}/my-roles`);
  const row = contractor.locator('table[aria-labelledby="azure-active-h"] tbody tr', { hasText: 'Contributor' });
  await row.waitFor();
  const text = await row.innerText();
  assert.ok(text.includes('Activated') && text.includes('web'), text);
  assert.equal(await contractor.locator('table[aria-labelledby="azure-pending-h"]').count(), 0);
  await snap(contractor, 'casey-active');
});
