// The OpenPIM web UI's main journeys, driven in Debian's Chromium by playwright-core against a
// real `openpim serve` (run under libfaketime so the test can move the server's clock past the
// 5-minute removal rule). Screenshots of every step go to test-artifacts/browser/.
//
// Run through scripts/test-browser.sh, which builds the binary and installs what is needed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, BIN, assertFlash, launchBrowser, screenshots, startServer } from './harness.mjs';

const FAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find(
  existsSync,
);
const BOB = 'bob@openpim.local';
const ALICE = 'alice@openpim.local';
const USER_ADMIN = 'User Administrator';
const GROUPS_ADMIN = 'Groups Administrator';

let server;
let data;
let origin;
let browser;
const snap = screenshots('');

function token(upn) {
  return execFileSync(BIN, ['token', '--data', data, '--user', upn, '--mfa'], { encoding: 'utf8' }).trim();
}

async function api(method, path, tok, body) {
  const resp = await fetch(`${origin}/v1.0${path}`, {
    method,
    headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  const json = text ? JSON.parse(text) : null;
  assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${text}`);
  return json;
}

/** Moves the server's clock forward (libfaketime re-reads the offset file on every call). */
let offsetMinutes = 0;
function advanceClock(minutes) {
  offsetMinutes += minutes;
  writeFileSync(join(data, 'clock-offset'), `+${offsetMinutes}m\n`);
}

async function signedIn(upn, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${origin}/signin`);
  await page.getByLabel('Bearer token').fill(token(upn));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${origin}/`);
  await assertFlash(page, `Signed in as ${upn}.`);
  return page;
}

/** Opens the activation form of an eligible role from My roles. */
async function openActivation(page, role) {
  await page.goto(`${origin}/my-roles`);
  await page.locator('section[aria-labelledby="eligible-h"] tbody tr', { hasText: role })
    .getByRole('link', { name: `Activate ${role}` })
    .click();
  await page.getByRole('heading', { level: 1, name: `Activate ${role}` }).waitFor();
}

function activeRow(page, role) {
  return page.locator('section[aria-labelledby="active-h"] tbody tr', { hasText: role });
}

before(async () => {
  assert.ok(FAKETIME, 'libfaketime is needed to move the server clock (apt-get install faketime)');
  data = mkdtempSync(join(tmpdir(), 'openpim-browser-'));
  writeFileSync(join(data, 'clock-offset'), '+0m\n');
  ({ server, origin } = await startServer(data, {
    extraEnv: {
      LD_PRELOAD: FAKETIME,
      FAKETIME_TIMESTAMP_FILE: join(data, 'clock-offset'),
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
  }));
  const admin = token(ADMIN);
  for (const [upn, name] of [
    [BOB, 'Bob Builder'],
    [ALICE, 'Alice Approver'],
  ]) {
    await api('POST', '/users', admin, {
      accountEnabled: true,
      displayName: name,
      userPrincipalName: upn,
      mailNickname: upn.split('@')[0],
    });
  }
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

test('admin, bob and alice go through eligibility, activation, approval, deactivation and audit', async () => {
  // 1. The admin makes bob eligible for two roles through the Roles page.
  const admin = await signedIn(ADMIN);
  for (const role of [USER_ADMIN, GROUPS_ADMIN]) {
    await admin.getByRole('link', { name: 'Roles', exact: true }).click();
    await admin.getByLabel('Search roles by name').fill(role);
    await admin.getByRole('button', { name: 'Search' }).click();
    await admin.getByRole('link', { name: role, exact: true }).click();
    await admin.getByRole('heading', { level: 1, name: role }).waitFor();
    await admin.getByLabel('Member (user sign-in name or group name)').fill(BOB);
    await admin.getByLabel('Eligible', { exact: true }).check();
    await admin.locator('#permanent').check();
    await admin.getByLabel('Justification', { exact: true }).fill('Bob joins the helpdesk rota');
    await admin.getByRole('button', { name: 'Add assignment' }).click();
    await assertFlash(admin, `${BOB} is now eligible for this role`);
    const row = admin.locator('section[aria-labelledby="eligible-h"] tbody tr', { hasText: BOB });
    await row.waitFor();
    if (role === USER_ADMIN) await snap(admin, 'admin-made-bob-eligible');
  }

  // 2. Bob sees what activation requires, activates with a justification, and sees it active.
  const bob = await signedIn(BOB);
  await openActivation(bob, USER_ADMIN);
  const reqs = await bob.locator('#reqs').innerText();
  for (const need of ['at most 8 hours', 'Multi-factor authentication', 'A justification']) {
    assert.ok(reqs.includes(need), `requirements show "${need}": ${reqs}`);
  }
  assert.ok(!reqs.includes('Approval'), 'no approval needed yet');
  await snap(bob, 'bob-sees-requirements');
  await bob.getByLabel('2 h', { exact: true }).check();
  await bob.getByLabel('Justification (required)').fill('INC-4711 password resets');
  await bob.getByRole('button', { name: 'Activate', exact: true }).click();
  await assertFlash(bob, `${USER_ADMIN} is active.`);
  const active = activeRow(bob, USER_ADMIN);
  await active.waitFor();
  assert.ok((await active.innerText()).includes('Activated'));
  await snap(bob, 'bob-activated-user-admin');

  // 3. The admin turns on approval by alice for Groups Administrator in the settings editor.
  await admin.getByRole('link', { name: 'Role settings' }).click();
  await admin.getByRole('heading', { level: 1, name: `Role settings: ${GROUPS_ADMIN}` }).waitFor();
  await admin.getByLabel('Require approval to activate').check();
  await admin.getByLabel('Stage 1 approvers', { exact: true }).fill(ALICE);
  await admin.getByRole('button', { name: 'Review changes' }).click();
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await assertFlash(admin, 'Saved: Approval_EndUser_Assignment.');
  assert.equal(
    await admin.getByLabel('Stage 1 approvers', { exact: true }).inputValue(),
    ALICE,
    'the editor shows the saved approver',
  );
  await snap(admin, 'admin-turned-on-approval');

  // 4. Bob's activation of Groups Administrator now waits for approval.
  await openActivation(bob, GROUPS_ADMIN);
  assert.ok((await bob.locator('#reqs').innerText()).includes('Approval'));
  await bob.getByLabel('Justification (required)').fill('Cleaning up stale groups');
  await bob.getByRole('button', { name: 'Request activation' }).click();
  await assertFlash(bob, `Your request for ${GROUPS_ADMIN} is waiting for approval.`);
  await bob.locator('section[aria-labelledby="requests-h"] tbody tr', { hasText: GROUPS_ADMIN }).waitFor();
  await bob.goto(`${origin}/my-roles?tab=active`);
  assert.equal(await activeRow(bob, GROUPS_ADMIN).count(), 0, 'not active while pending');
  await snap(bob, 'bob-request-pending');

  // 5. Alice approves it on the Approvals page, seeing who asked, for what and why.
  const alice = await signedIn(ALICE);
  await alice.getByRole('link', { name: 'Approvals' }).click();
  const request = alice.locator('table.approvals tbody tr', { hasText: BOB });
  await request.waitFor();
  const facts = await request.innerText();
  for (const want of [GROUPS_ADMIN, 'Cleaning up stale groups', 'Bob Builder']) {
    assert.ok(facts.includes(want), `approval card shows "${want}": ${facts}`);
  }
  await alice.getByLabel('Reason').fill('Agreed in the change board');
  await snap(alice, 'alice-sees-request');
  await request.getByRole('button', { name: /^Approve the request of/ }).click();
  await assertFlash(alice, 'The request is approved.');
  assert.equal(await alice.locator('table.approvals tbody tr', { hasText: BOB }).count(), 0, 'nothing left to decide');
  await snap(alice, 'alice-approved');

  // 6. Bob sees Groups Administrator active.
  await bob.goto(`${origin}/my-roles?tab=active`);
  await activeRow(bob, GROUPS_ADMIN).waitFor();
  await snap(bob, 'bob-sees-approved-role-active');

  // 7. Six minutes later (the server's clock moved), bob deactivates User Administrator.
  advanceClock(6);
  await bob.reload();
  await activeRow(bob, USER_ADMIN).getByRole('button', { name: `Deactivate ${USER_ADMIN}` }).click();
  // A confirmation page says what happens; confirming deactivates.
  await bob.getByRole('heading', { name: 'Please confirm' }).waitFor();
  await bob.getByRole('button', { name: `Deactivate ${USER_ADMIN}` }).click();
  await assertFlash(bob, `${USER_ADMIN} is deactivated.`);
  assert.equal(await activeRow(bob, USER_ADMIN).count(), 0, 'User Administrator is no longer active');
  await snap(bob, 'bob-deactivated');

  // 8. The audit page shows each step, with its actor.
  await admin.getByRole('link', { name: 'Audit' }).click();
  const log = await admin.locator('table.audit').innerText();
  const steps = [
    ['Add eligible member to role in PIM', ADMIN],
    ['Add member to role (PIM activation)', BOB],
    ['Update role setting in PIM', ADMIN],
    ['Approve role activation request in PIM', ALICE],
    ['Remove member from role (PIM deactivation)', BOB],
  ];
  for (const [activity, actor] of steps) {
    const row = admin.locator('table.audit tbody tr', { hasText: activity }).filter({ hasText: actor });
    assert.ok((await row.count()) >= 1, `audit lists "${activity}" by ${actor}:\n${log}`);
  }
  await snap(admin, 'audit-log');
  // Filtered by actor, only bob's entries remain.
  await admin.getByLabel('Actor (sign-in name)').fill(BOB);
  await admin.getByRole('button', { name: 'Filter' }).click();
  const actors = await admin.locator('table.audit tbody td[data-label="Actor"]').allInnerTexts();
  assert.ok(actors.length >= 3, `bob's activation requests and deactivation: ${actors}`);
  assert.ok(actors.every((a) => a === BOB), `only bob: ${actors}`);
  await snap(admin, 'audit-filtered-by-bob');

  // 9. The CSV download has the same filtered rows.
  const [download] = await Promise.all([
    admin.waitForEvent('download'),
    admin.getByRole('link', { name: 'Download CSV' }).click(),
  ]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\r\n');
  // The API's one CSV format (openpim_core::audit::csv): every field quoted.
  const columns = ['activityDateTime', 'category', 'activityDisplayName', 'operationType', 'result',
    'resultReason', 'initiatedByUserId', 'initiatedByUserPrincipalName', 'initiatedByUserDisplayName',
    'targetResources', 'modifiedProperties', 'additionalDetails', 'loggedByService', 'correlationId', 'id'];
  assert.equal(csv[0], columns.map((c) => `"${c}"`).join(','));
  assert.equal(csv.length - 1, actors.length, 'one CSV line per row on the page');
  assert.ok(csv.some((l) => l.includes('Remove member from role (PIM deactivation)')));

  // 10. My roles on a phone-sized screen, and by keyboard: the first Tab reaches the skip link.
  const phone = await signedIn(BOB, { width: 390, height: 844 });
  await phone.goto(`${origin}/my-roles`);
  await phone.keyboard.press('Tab');
  assert.equal(await phone.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no sideways scrolling on a phone (page is ${width}px wide)`);
  await snap(phone, 'phone-my-roles');
});
