// The web UI's shell (issue #20): navigation by the signed-in person's rights, HTML error pages,
// times in the browser's zone, users and role-assignable groups management, and the audit log's
// filters, record page and CSV. Every page is inspected (screenshot + axe-core WCAG 2.1 AA), at
// desktop width and at 375 px. Run through scripts/test-browser.sh shell.test.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, BIN, assertFlash, call, inspectPage, launchBrowser, startServer } from './harness.mjs';

const CAROL = 'carol@openpim.local'; // a member user with no role
const BOB = 'bob@openpim.local';
const DAVE = 'dave@openpim.local'; // created, edited, disabled and deleted through the UI
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };

let server;
let data;
let origin;
let browser;

function token(upn) {
  return execFileSync(BIN, ['token', '--data', data, '--user', upn, '--mfa'], { encoding: 'utf8' }).trim();
}

async function signedIn(upn, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, timezoneId: 'Asia/Kolkata' });
  const page = await context.newPage();
  await page.goto(`${origin}/signin`);
  await page.getByLabel('Bearer token').fill(token(upn));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${origin}/`);
  return page;
}

/** The main navigation's link texts. */
function navLinks(page) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts();
}

/** Goes to `path` and returns the response's status. */
async function visit(page, path) {
  const resp = await page.goto(`${origin}${path}`);
  return resp.status();
}

before(async () => {
  data = mkdtempSync(join(tmpdir(), 'openpim-shell-'));
  ({ server, origin } = await startServer(data));
  const admin = token(ADMIN);
  for (const [upn, name] of [
    [CAROL, 'Carol Plain'],
    [BOB, 'Bob Builder'],
  ]) {
    await call(origin, 'POST', '/v1.0/users', admin, {
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

test('a user without a role sees only their own pages and gets the HTML 403 on admin pages', async () => {
  const carol = await signedIn(CAROL);
  assert.deepEqual(await navLinks(carol), ['Overview', 'My roles', 'My requests', 'Approvals']);
  await inspectPage(carol, 'shell-plain-user-home');
  for (const path of ['/users', '/audit', '/groups', '/roles']) {
    assert.equal(await visit(carol, path), 403, `${path} is refused`);
    await carol.getByRole('heading', { level: 2, name: '403 Forbidden' }).waitFor();
    assert.deepEqual(await navLinks(carol), ['Overview', 'My roles', 'My requests', 'Approvals'], path);
  }
  await inspectPage(carol, 'shell-403');
  // The API itself refuses too: the UI's gate is not the only check.
  const resp = await fetch(`${origin}/v1.0/auditLogs/directoryAudits`, { headers: { Authorization: `Bearer ${token(CAROL)}` } });
  assert.equal(resp.status, 403);

  // The admin's navigation has every section, in the URL plan's order.
  const admin = await signedIn(ADMIN);
  const links = await navLinks(admin);
  assert.deepEqual(links.slice(0, 8), ['Overview', 'My roles', 'My requests', 'Approvals', 'Roles', 'Users', 'Groups', 'Audit']);
  assert.ok(links.includes('Alerts'), `admin sees Alerts: ${links}`);
});

test('unknown pages are an HTML 404; unknown API paths keep their JSON errors', async () => {
  const admin = await signedIn(ADMIN);
  assert.equal(await visit(admin, '/no-such-page'), 404);
  await admin.getByRole('heading', { level: 1, name: 'Not Found' }).waitFor();
  assert.ok((await admin.locator('main').innerText()).includes('There is no page at this address'));
  await inspectPage(admin, 'shell-404');
  const api = await fetch(`${origin}/v1.0/no-such-thing`, { headers: { Authorization: `Bearer ${token(ADMIN)}` } });
  assert.equal(api.status, 404);
  assert.equal((await api.json()).error.code, 'UnknownError');
});

test('an admin creates, edits, disables, enables and deletes a user', async () => {
  const admin = await signedIn(ADMIN);
  await admin.getByRole('link', { name: 'Users', exact: true }).click();
  await admin.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  await inspectPage(admin, 'shell-users');

  // Create.
  await admin.getByLabel('Display name').fill('Dave Delta');
  await admin.getByLabel('Sign-in name (user principal name)').fill(DAVE);
  await admin.getByLabel('Department').fill('Operations');
  await admin.getByRole('button', { name: 'Create user' }).click();
  await assertFlash(admin, `Created user ${DAVE}.`);
  await admin.getByRole('heading', { level: 1, name: 'User: Dave Delta' }).waitFor();
  // Times are shown in the browser's zone (Asia/Kolkata), with UTC on hover.
  const created = admin.locator('dd time[datetime]');
  assert.match(await created.getAttribute('title'), /UTC$/);
  assert.doesNotMatch(await created.innerText(), /UTC$/, 'rewritten to the browser zone');
  const iso = await created.getAttribute('datetime');
  const local = new Date(new Date(iso).getTime() + 330 * 60_000).toISOString().slice(0, 16).replace('T', ' ');
  assert.ok((await created.innerText()).startsWith(local), `${await created.innerText()} is ${iso} in +05:30`);
  await inspectPage(admin, 'shell-user');

  // A refusal from the API is shown as a message (the sign-in name is taken).
  await admin.getByRole('link', { name: 'All users' }).click();
  await admin.getByLabel('Display name').fill('Dave Again');
  await admin.getByLabel('Sign-in name (user principal name)').fill(DAVE);
  await admin.getByRole('button', { name: 'Create user' }).click();
  await assertFlash(admin, DAVE);
  assert.ok((await admin.locator('p.flash.err').innerText()).length > 0);

  // Search, then edit.
  await admin.getByLabel('Search users by name or sign-in name').fill('Dave');
  await admin.getByRole('button', { name: 'Search' }).click();
  const rows = admin.locator('table.users tbody tr');
  assert.equal(await rows.count(), 1);
  await rows.getByRole('link', { name: 'Dave Delta' }).click();
  await admin.getByLabel('Job title').fill('Night operator');
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await assertFlash(admin, "Saved the user's properties.");
  assert.equal(await admin.getByLabel('Job title').inputValue(), 'Night operator');

  // Disable: the confirmation page says what happens; Cancel changes nothing, Confirm disables.
  await admin.getByRole('button', { name: 'Disable account' }).click();
  await admin.getByRole('heading', { level: 1, name: `Disable ${DAVE}?` }).waitFor();
  assert.ok((await admin.locator('main').innerText()).includes('will no longer be able to sign in'));
  await inspectPage(admin, 'shell-confirm-disable');
  await admin.getByRole('link', { name: 'Cancel' }).click();
  await admin.getByRole('heading', { level: 1, name: 'User: Dave Delta' }).waitFor();
  assert.equal((await call(origin, 'GET', `/v1.0/users/${DAVE}`, token(ADMIN))).accountEnabled, true, 'Cancel changed nothing');
  await admin.getByRole('button', { name: 'Disable account' }).click();
  await admin.getByRole('heading', { level: 1, name: `Disable ${DAVE}?` }).waitFor();
  await admin.getByRole('button', { name: 'Disable account' }).click();
  await assertFlash(admin, 'The account is disabled.');
  const dave = await call(origin, 'GET', `/v1.0/users/${DAVE}`, token(ADMIN));
  assert.equal(dave.accountEnabled, false);
  assert.equal(dave.jobTitle, 'Night operator');
  await admin.getByRole('button', { name: 'Enable account' }).click();
  await assertFlash(admin, 'The account is enabled.');
  assert.equal((await call(origin, 'GET', `/v1.0/users/${DAVE}`, token(ADMIN))).accountEnabled, true);

  // Delete, confirmed.
  await admin.getByRole('button', { name: 'Delete user' }).click();
  await admin.getByRole('heading', { level: 1, name: `Delete ${DAVE}?` }).waitFor();
  await admin.getByRole('button', { name: 'Delete user' }).click();
  await assertFlash(admin, `Deleted ${DAVE}.`);
  await admin.getByLabel('Search users by name or sign-in name').fill('Dave');
  await admin.getByRole('button', { name: 'Search' }).click();
  assert.equal(await admin.locator('table.users tbody tr').count(), 0);
  const gone = await fetch(`${origin}/v1.0/users/${DAVE}`, { headers: { Authorization: `Bearer ${token(ADMIN)}` } });
  assert.equal(gone.status, 404);
});

test('an admin creates a role-assignable group and adds and removes a member', async () => {
  const admin = await signedIn(ADMIN);
  await admin.getByRole('link', { name: 'Groups', exact: true }).click();
  await inspectPage(admin, 'shell-groups');
  await admin.getByLabel('Group name').fill('Tier0 Operators');
  await admin.getByLabel('Description').fill('Holds the tier-0 roles');
  await admin.getByRole('button', { name: 'Create group' }).click();
  await assertFlash(admin, 'Created group Tier0 Operators.');
  await admin.getByRole('heading', { level: 1, name: 'Group: Tier0 Operators' }).waitFor();

  await admin.getByLabel('User sign-in name').fill(BOB);
  await admin.getByRole('button', { name: 'Add member' }).click();
  await assertFlash(admin, `Added ${BOB} to the group.`);
  const row = admin.locator('table.members tbody tr', { hasText: BOB });
  await row.waitFor();
  await inspectPage(admin, 'shell-group');

  await row.getByRole('button', { name: 'Remove Bob Builder from the group' }).click();
  await admin.getByRole('heading', { level: 1, name: `Remove ${BOB} from Tier0 Operators?` }).waitFor();
  await inspectPage(admin, 'shell-confirm-remove-member');
  await admin.getByRole('button', { name: 'Remove member' }).click();
  await assertFlash(admin, `Removed ${BOB} from the group.`);
  assert.equal(await admin.locator('table.members tbody tr', { hasText: BOB }).count(), 0);

  await admin.getByRole('link', { name: 'All role-assignable groups' }).click();
  await admin.locator('table.groups tbody tr', { hasText: 'Tier0 Operators' }).waitFor();
});

test('the audit log filters, shows a record in full, and the CSV has exactly the filtered rows', async () => {
  const admin = await signedIn(ADMIN);
  await admin.getByRole('link', { name: 'Audit', exact: true }).click();
  await admin.getByLabel('Actor (sign-in name)').fill(ADMIN);
  await admin.getByLabel('Target contains').fill('dave');
  await admin.getByLabel('Result').selectOption('success');
  await admin.getByRole('button', { name: 'Filter' }).click();
  const rows = admin.locator('table.audit tbody tr');
  const activities = await admin.locator('table.audit tbody td[data-label="Activity"]').allInnerTexts();
  // Add, update x3 (edit, disable, enable) and delete of dave; nothing else.
  assert.deepEqual([...activities].sort(), ['Add user', 'Delete user', 'Update user', 'Update user', 'Update user']);
  for (const t of await admin.locator('table.audit tbody td[data-label="Targets"]').allInnerTexts()) {
    assert.ok(t.includes(DAVE), t);
  }
  await inspectPage(admin, 'shell-audit-filtered');
  const ids = await rows.locator('a').evaluateAll((links) => links.map((a) => a.getAttribute('href').split('/').pop()));

  // The CSV of the same filters: the same records, one line each.
  const [download] = await Promise.all([
    admin.waitForEvent('download'),
    admin.getByRole('link', { name: 'Download CSV' }).click(),
  ]);
  const lines = readFileSync(await download.path(), 'utf8').trim().split('\r\n');
  const csvIds = lines.slice(1).map((l) => l.slice(l.lastIndexOf(',') + 1).replaceAll('"', ''));
  assert.deepEqual(csvIds, ids, 'the CSV lists exactly the filtered records, in the same order');

  // A role filter: the PIM records of one role only. The admin makes bob eligible through the API.
  const roles = await call(origin, 'GET', "/v1.0/roleManagement/directory/roleDefinitions?$filter=displayName eq 'Groups Administrator'", token(ADMIN));
  const bob = await call(origin, 'GET', `/v1.0/users/${BOB}`, token(ADMIN));
  await call(origin, 'POST', '/v1.0/roleManagement/directory/roleEligibilityScheduleRequests', token(ADMIN), {
    action: 'adminAssign',
    principalId: bob.id,
    roleDefinitionId: roles.value[0].id,
    directoryScopeId: '/',
    justification: 'Shell journey',
    scheduleInfo: { expiration: { type: 'noExpiration' } },
  });
  await admin.goto(`${origin}/audit?role=${encodeURIComponent('Groups Administrator')}`);
  const byRole = await admin.locator('table.audit tbody td[data-label="Targets"]').allInnerTexts();
  assert.ok(byRole.length >= 1, 'the eligibility is listed');
  assert.ok(byRole.every((t) => t.includes('Groups Administrator')), byRole.join('\n'));
  await admin.goto(`${origin}/audit?role=${encodeURIComponent('Groups Admin')}`);
  assert.equal(await admin.locator('table.audit tbody tr').count(), 0, 'a role is matched by its exact name');

  // A record's page has every field.
  await admin.goto(`${origin}/audit/${ids[0]}`);
  const text = await admin.locator('main').innerText();
  for (const field of ['Category', 'Operation type', 'Correlation id', 'Initiated by', 'Audit chain hash', 'Targets', 'Additional details', DAVE]) {
    assert.ok(text.includes(field), `record page shows ${field}`);
  }
  await inspectPage(admin, 'shell-audit-record');

  // A bad date is the API's kind of refusal, on the page, not a crash.
  assert.equal(await visit(admin, '/audit?from=yesterday'), 400);
  await assertFlash(admin, "The from date 'yesterday' is not a date like 2026-12-31.");
});

test('the shell and the existing pages at phone width and by keyboard', async () => {
  const admin = await signedIn(ADMIN, PHONE);
  for (const [path, name] of [
    ['/', 'phone-home'],
    ['/users', 'phone-users'],
    ['/groups', 'phone-groups'],
    ['/audit', 'phone-audit'],
    ['/approvals', 'phone-approvals'],
    ['/roles', 'phone-roles'],
    ['/alerts', 'phone-alerts'],
  ]) {
    assert.equal(await visit(admin, path), 200, path);
    const width = await admin.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `${path}: no sideways scrolling of the page (${width}px)`);
    await inspectPage(admin, `shell-${name}`);
  }
  // The first Tab reaches the skip link, which moves focus to the content.
  await admin.keyboard.press('Tab');
  assert.equal(await admin.evaluate(() => document.activeElement?.textContent), 'Skip to content');

  // The existing pages at desktop width inherit the shell (axe finds nothing serious).
  const desk = await signedIn(ADMIN);
  for (const [path, name] of [
    ['/', 'desktop-home'],
    ['/approvals', 'desktop-approvals'],
    ['/roles', 'desktop-roles'],
    ['/alerts', 'desktop-alerts'],
  ]) {
    assert.equal(await visit(desk, path), 200, path);
    await inspectPage(desk, `shell-${name}`);
  }
});
