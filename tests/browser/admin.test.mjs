// The web UI for role administrators (issue #20, part 3), driven in Debian's Chromium by
// playwright-core against a real `openpim serve` (under libfaketime, so the test can move the
// server's clock past the 5-minute rule): the Roles catalog's search, filters, sort and paging; a
// role's Eligible / Active / Expired tabs with add, update and remove (its confirmation page, the
// 5-minute rule's refusal, then the removal); the settings editor with a two-stage approver chain
// (a user, then a group, with escalation), its review of old → new values and an API validation
// error shown next to the form, verified through the Graph API; an Azure scope's assignment tabs.
// Every page gets `inspectPage` (screenshot + axe-core WCAG 2.1 AA), the catalog and a role page
// also at 375 px.
//
// Run through scripts/test-browser.sh, which builds the binary and installs what is needed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as harness from './harness.mjs';
import { ADMIN, BIN, assertFlash, inspectPage, launchBrowser, startServer } from './harness.mjs';

const FAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find(
  existsSync,
);
const ERIN = 'erin@openpim.local';
const PAT = 'pat@openpim.local';
const OMAR = 'omar@openpim.local';
const LEADS = 'Helpdesk Leads';
const ROLE = 'Helpdesk Administrator';
const SUB = '5b0c1a2d-0000-4000-8000-00000000a020';
const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
const ARM = 'https://management.azure.com/';

let server;
let data;
let origin;
let browser;
let admin;
const ids = {};

const call = (method, path, tok, body) => harness.call(origin, method, path, tok, body);

function token(upn, audience) {
  const args = ['token', '--data', data, '--user', upn, '--mfa'];
  if (audience) args.push('--audience', audience);
  return execFileSync(BIN, args, { encoding: 'utf8' }).trim();
}

/** Moves the server's clock forward (libfaketime re-reads the offset file on every call). */
let offsetMinutes = 0;
function advanceClock(minutes) {
  offsetMinutes += minutes;
  writeFileSync(join(data, 'clock-offset'), `+${offsetMinutes}m\n`);
}

async function signedIn(upn, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${origin}/signin`);
  await page.getByLabel('Bearer token').fill(token(upn));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
  return page;
}

/** "N of M roles" on the catalog. */
async function counts(page) {
  const text = await page.locator('p.meta[role="status"]').innerText();
  const m = text.match(/(\d+) of (\d+) roles/);
  assert.ok(m, `a count in "${text}"`);
  return { shown: Number(m[1]), total: Number(m[2]), text };
}

async function roleNames(page) {
  return page.locator('table.rows tbody tr td:first-child a').allInnerTexts();
}

before(async () => {
  assert.ok(FAKETIME, 'libfaketime is needed to move the server clock (apt-get install faketime)');
  data = mkdtempSync(join(tmpdir(), 'openpim-browser-admin-'));
  writeFileSync(join(data, 'clock-offset'), '+0m\n');
  ({ server, origin } = await startServer(data, {
    extraEnv: {
      LD_PRELOAD: FAKETIME,
      FAKETIME_TIMESTAMP_FILE: join(data, 'clock-offset'),
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
  }));
  const graph = token(ADMIN);
  for (const [upn, name] of [
    [ERIN, 'Erin Engineer'],
    [PAT, 'Pat Approver'],
    [OMAR, 'Omar Escalation'],
  ]) {
    const u = await call('POST', '/v1.0/users', graph, {
      accountEnabled: true,
      displayName: name,
      userPrincipalName: upn,
      mailNickname: upn.split('@')[0],
    });
    ids[upn] = u.id;
  }
  const group = await call('POST', '/v1.0/groups', graph, {
    displayName: LEADS,
    mailEnabled: false,
    mailNickname: 'helpdesk-leads',
    securityEnabled: true,
  });
  ids[LEADS] = group.id;
  // An Azure subscription the admin owns.
  const arm = token(ADMIN, ARM);
  await call('POST', '/providers/Microsoft.Authorization/elevateAccess?api-version=2016-07-01', arm);
  await call('PUT', `/openpim/azure/subscriptions/${SUB}`, graph, { displayName: 'Staging' });
  const me = await call('GET', '/v1.0/me', graph);
  await call(
    'PUT',
    `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`,
    arm,
    { properties: { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${OWNER}`, principalId: me.id } },
  );
  browser = await launchBrowser();
  admin = await signedIn(ADMIN);
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

test('Roles: search, filters, sort and paging', async () => {
  await admin.goto(`${origin}/roles`);
  const all = await counts(admin);
  assert.equal(all.shown, all.total, 'no filter: every role');
  assert.ok(all.total > 100, `the built-in catalog is listed: ${all.text}`);
  assert.equal((await roleNames(admin)).length, 25, 'a page holds 25 roles');
  await inspectPage(admin, 'admin-roles');

  // Paging: the second page holds the next 25, in the same (name) order.
  const first = await roleNames(admin);
  await admin.getByRole('link', { name: 'Next page' }).click();
  await admin.getByText(/Page 2 of \d+/).first().waitFor();
  const second = await roleNames(admin);
  assert.equal(second.length, 25);
  assert.ok(first.at(-1).toLowerCase() < second[0].toLowerCase(), 'page 2 continues page 1');

  // Sort: the Role header toggles to descending.
  await admin.goto(`${origin}/roles`);
  await admin.getByRole('link', { name: 'Role', exact: true }).click();
  await admin.waitForURL(/sort=-name/);
  const desc = await roleNames(admin);
  assert.deepEqual(desc, [...desc].sort((a, b) => b.toLowerCase().localeCompare(a.toLowerCase())));
  const sorted = admin.locator('th[aria-sort="descending"]');
  assert.equal(await sorted.innerText(), 'Role');
  // The arrow comes from the shared stylesheet (table.rows th[aria-sort] a::after).
  assert.match(await sorted.locator('a').evaluate((a) => getComputedStyle(a, '::after').content), /\u2193/);

  // Filters: privileged only, then a search within them.
  await admin.getByLabel('Privileged').selectOption('yes');
  await admin.getByRole('button', { name: 'Search' }).click();
  const privileged = await counts(admin);
  assert.ok(privileged.shown > 0 && privileged.shown < all.total, privileged.text);
  const tagged = await admin.locator('table.rows tbody tr').evaluateAll((rows) =>
    rows.every((r) => r.querySelector('.tag')?.textContent === 'privileged'),
  );
  assert.ok(tagged, 'every listed role is privileged');
  await admin.getByLabel('Search roles by name').fill('security');
  await admin.getByRole('button', { name: 'Search' }).click();
  const found = await admin.locator('table.rows tbody tr').allInnerTexts();
  assert.ok(found.length > 0 && found.length < privileged.shown, `${found.length} privileged roles about security`);
  for (const r of found) assert.ok(r.toLowerCase().includes('security'), `"${r}" matches the search`);
  await admin.getByLabel('Kind').selectOption('custom');
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.getByText('No role matches.').waitFor();
  assert.equal((await counts(admin)).shown, 0, 'no custom role exists');
  await inspectPage(admin, 'admin-roles-filtered');
});

test('A role page: add an eligible assignment, update it, remove it (confirmation, the 5-minute rule)', async () => {
  await admin.goto(`${origin}/roles?q=${encodeURIComponent(ROLE)}`);
  await admin.getByRole('link', { name: ROLE, exact: true }).click();
  await admin.getByRole('heading', { level: 1, name: ROLE }).waitFor();
  await admin.getByLabel('Member (user sign-in name or group name)').fill(ERIN);
  await admin.getByLabel('Eligible', { exact: true }).check();
  await admin.getByLabel('End (UTC, unless permanent)').fill('2027-06-30T17:00');
  await admin.getByLabel('Justification', { exact: true }).fill('Erin joins the helpdesk');
  await admin.getByRole('button', { name: 'Add assignment' }).click();
  await assertFlash(admin, `${ERIN} is now eligible for this role`);
  assert.match(admin.url(), /tab=eligible/);
  const row = admin.locator('section[aria-labelledby="eligible-h"] tbody tr', { hasText: ERIN });
  assert.ok((await row.innerText()).includes('2027-06-30 17:00 UTC'), await row.innerText());
  await inspectPage(admin, 'admin-role-eligible');

  // The catalog now counts it, and "with assignments" finds the role.
  await admin.goto(`${origin}/roles?assigned=yes`);
  assert.ok((await roleNames(admin)).includes(ROLE));
  assert.ok((await admin.locator('tr', { hasText: ROLE }).innerText()).includes('1 eligible'));
  await admin.goBack();

  // Update: a new end.
  await row.locator('summary', { hasText: 'Update' }).click();
  await row.getByLabel('New end (UTC)').fill('2027-03-31T12:00');
  await row.getByRole('button', { name: 'Update' }).click();
  await assertFlash(admin, 'Updated');
  assert.ok((await row.innerText()).includes('2027-03-31 12:00 UTC'), await row.innerText());

  // Remove: the confirmation says what happens and that the 5-minute rule still holds.
  await row.getByLabel('Reason').fill('Rota ends');
  await row.getByRole('button', { name: /^Remove Erin Engineer/ }).click();
  await admin.getByRole('heading', { level: 1, name: 'Remove an eligible assignment' }).waitFor();
  const page = await admin.locator('main').innerText();
  assert.ok(page.includes(`will no longer be able to activate ${ROLE} at Directory`), page);
  assert.ok(page.includes('Reason recorded: Rota ends'), page);
  assert.ok(page.includes('less than 5 minutes ago'), page);
  await inspectPage(admin, 'admin-role-remove-confirm');
  // Cancel keeps it; confirming now is refused by the API, and the page says why and when.
  await admin.getByRole('link', { name: 'Cancel' }).click();
  await row.waitFor();
  await row.getByRole('button', { name: /^Remove Erin Engineer/ }).click();
  await admin.getByRole('button', { name: 'Remove', exact: true }).click();
  await assertFlash(admin, 'Too early: an assignment cannot be removed or changed within 5 minutes');
  await assertFlash(admin, 'Retry after');
  await row.waitFor();

  // Six minutes later the same confirmation removes it.
  advanceClock(6);
  await admin.reload();
  await row.getByRole('button', { name: /^Remove Erin Engineer/ }).click();
  assert.ok(!(await admin.locator('main').innerText()).includes('less than 5 minutes ago'));
  await admin.getByRole('button', { name: 'Remove', exact: true }).click();
  await assertFlash(admin, 'Removed');
  assert.equal(await row.count(), 0, 'the eligible assignment is gone');

  // An active assignment, removed after 5 minutes too, then shows on the Expired tab (from the
  // access history).
  await admin.getByRole('link', { name: 'Active assignments' }).click();
  await admin.locator('section[aria-labelledby="active-h"]').getByText('None.').waitFor();
  await admin.getByLabel('Member (user sign-in name or group name)').fill(ERIN);
  assert.ok(await admin.getByLabel('Active', { exact: true }).isChecked(), 'the Active tab adds active');
  await admin.getByLabel('End (UTC, unless permanent)').fill('2027-01-31T12:00');
  await admin.getByLabel('Justification', { exact: true }).fill('Cover for the holidays');
  await admin.getByRole('button', { name: 'Add assignment' }).click();
  await assertFlash(admin, `${ERIN} is now active for this role`);
  const active = admin.locator('section[aria-labelledby="active-h"] tbody tr', { hasText: ERIN });
  assert.ok((await active.innerText()).includes('2027-01-31 12:00 UTC'), await active.innerText());
  await inspectPage(admin, 'admin-role-active');
  advanceClock(6);
  await active.getByRole('button', { name: /^Remove Erin Engineer/ }).click();
  assert.ok((await admin.locator('main').innerText()).includes(`will no longer hold ${ROLE} at Directory`));
  await admin.getByRole('button', { name: 'Remove', exact: true }).click();
  await assertFlash(admin, 'Removed');
  await admin.getByRole('link', { name: 'Expired assignments' }).click();
  await admin.locator('section[aria-labelledby="expired-h"] tbody tr', { hasText: ERIN }).waitFor();
  await inspectPage(admin, 'admin-role-expired');
});

test('Role settings: a two-stage approver chain (a user, then a group), reviewed, saved, read back', async () => {
  await admin.goto(`${origin}/roles?q=${encodeURIComponent(ROLE)}`);
  await admin.getByRole('link', { name: ROLE, exact: true }).click();
  const roleId = admin.url().match(/\/roles\/([0-9a-f-]+)/)[1];
  await admin.getByRole('link', { name: 'Role settings' }).click();
  await admin.getByRole('heading', { level: 1, name: `Role settings: ${ROLE}` }).waitFor();
  await inspectPage(admin, 'admin-settings');

  // The API's refusal shows next to the form, which keeps what was typed.
  // An approver nobody has: refused before the review.
  await admin.getByLabel('Require approval to activate').check();
  await admin.getByLabel('Stage 1 approvers', { exact: true }).fill('Nobody Of That Name');
  await admin.getByRole('button', { name: 'Review changes' }).click();
  const problem = admin.locator('#settings-problem');
  await problem.waitFor();
  assert.ok((await problem.innerText()).includes("no single group named 'Nobody Of That Name'"), await problem.innerText());
  await admin.getByLabel('Require approval to activate').uncheck();
  await admin.getByLabel('Stage 1 approvers', { exact: true }).fill('');
  // An authentication context without a claim value: the API refuses the save.
  await admin.getByLabel('Require a Conditional Access authentication context').check();
  await admin.getByRole('button', { name: 'Review changes' }).click();
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await problem.waitFor();
  assert.ok((await problem.innerText()).includes('needs a claimValue'), await problem.innerText());
  assert.ok(await admin.getByLabel('Require a Conditional Access authentication context').isChecked(), 'the form keeps the values');
  await inspectPage(admin, 'admin-settings-refused');
  await admin.getByLabel('Require a Conditional Access authentication context').uncheck();
  await admin.getByLabel('Maximum activation (hours)').fill('4');

  await admin.getByLabel('Require approval to activate').check();
  await admin.getByLabel('Stage 1 approvers', { exact: true }).fill(PAT);
  await admin.getByLabel('Stage 1: escalate when undecided').check();
  await admin.getByLabel('Stage 1: escalate after (minutes)').fill('120');
  await admin.getByLabel('Stage 1 escalation approvers').fill(OMAR);
  await admin.getByLabel('Stage 2 approvers', { exact: true }).fill(LEADS);
  await admin.getByLabel('Stage 2: days to decide (1 to 30)').fill('2');
  await admin.getByLabel('Members activating the role, Approvers: level').selectOption('Critical');
  await admin.getByRole('button', { name: 'Review changes' }).click();

  // The review lists old → new, and nothing is saved yet.
  await admin.getByRole('heading', { name: 'What changes' }).waitFor();
  const review = await admin.locator('table.rows').innerText();
  for (const line of [
    'Activation requires approval\tNo\tYes',
    `Stage 1 approvers\t—\t${PAT}`,
    `Stage 1 escalation\t—\tAfter 120 minutes to ${OMAR}`,
    `Stage 2 approvers\t—\t${LEADS}`,
    'Activation maximum\t8 hours\t4 hours',
    'Members activating the role: Approvers\tAll (default recipients)\tCritical (default recipients)',
  ]) {
    assert.ok(review.includes(line), `review shows "${line}":\n${review}`);
  }
  await inspectPage(admin, 'admin-settings-review');
  // Back to editing keeps the values; reviewing again, then saving.
  await admin.getByRole('button', { name: 'Back to editing' }).click();
  assert.equal(await admin.getByLabel('Stage 2 approvers', { exact: true }).inputValue(), LEADS);
  await admin.getByRole('button', { name: 'Review changes' }).click();
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await assertFlash(admin, 'Saved:');
  await assertFlash(admin, 'Approval_EndUser_Assignment');
  assert.equal(await admin.getByLabel('Stage 1 approvers', { exact: true }).inputValue(), PAT);
  assert.equal(await admin.getByLabel('Stage 2 approvers', { exact: true }).inputValue(), LEADS);

  // Graph has the chain as saved.
  const filter = encodeURIComponent(`scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '${roleId}'`);
  const got = await call(
    'GET',
    `/v1.0/policies/roleManagementPolicyAssignments?$filter=${filter}&$expand=policy($expand=rules)`,
    token(ADMIN),
  );
  const rules = got.value[0].policy.rules;
  const approval = rules.find((r) => r.id === 'Approval_EndUser_Assignment').setting;
  assert.equal(approval.isApprovalRequired, true);
  assert.equal(approval.approvalMode, 'Serial');
  assert.equal(approval.approvalStages.length, 2);
  const [one, two] = approval.approvalStages;
  assert.deepEqual(
    one.primaryApprovers.map((a) => [a['@odata.type'], a.userId]),
    [['#microsoft.graph.singleUser', ids[PAT]]],
  );
  assert.equal(one.isEscalationEnabled, true);
  assert.equal(one.escalationTimeInMinutes, 120);
  assert.deepEqual(one.escalationApprovers.map((a) => a.userId), [ids[OMAR]]);
  assert.deepEqual(
    two.primaryApprovers.map((a) => [a['@odata.type'], a.groupId]),
    [['#microsoft.graph.groupMembers', ids[LEADS]]],
  );
  assert.equal(two.approvalStageTimeOutInDays, 2);
  assert.equal(rules.find((r) => r.id === 'Expiration_EndUser_Assignment').maximumDuration, 'PT4H');
  const notify = rules.find((r) => r.id === 'Notification_Approver_EndUser_Assignment');
  assert.equal(notify.notificationLevel, 'Critical');
  const context = rules.find((r) => r.id === 'AuthenticationContext_EndUser_Assignment');
  assert.equal(context.isEnabled, false, 'the refused change was not saved');
});

test("An Azure scope's assignment tabs", async () => {
  await admin.goto(`${origin}/azure`);
  await admin.getByRole('link', { name: /Staging/ }).first().click();
  await admin.getByRole('link', { name: 'Eligible assignments' }).waitFor();
  await admin.getByLabel('Role', { exact: true }).selectOption({ label: 'Reader' });
  await admin.getByLabel('Principal (user sign-in name or group name)').fill(ERIN);
  await admin.getByRole('button', { name: 'Add assignment' }).click();
  await assertFlash(admin, 'AdminAssign');
  assert.match(admin.url(), /tab=eligible/);
  const row = admin.locator('section[aria-labelledby="eligible-h"] tbody tr', { hasText: 'Reader' });
  await row.waitFor();
  await inspectPage(admin, 'admin-azure-scope-eligible');
  // Removing asks first; Cancel keeps it.
  await row.getByRole('button', { name: /^Remove Reader/ }).click();
  await admin.getByRole('heading', { level: 1, name: 'Remove an eligible assignment' }).waitFor();
  assert.ok((await admin.locator('main').innerText()).includes(`${ERIN} will no longer be able to activate Reader`));
  await inspectPage(admin, 'admin-azure-remove-confirm');
  await admin.getByRole('link', { name: 'Cancel' }).click();
  await row.waitFor();
  await admin.getByRole('link', { name: 'Role assignments (RBAC)' }).click();
  await admin.locator('section[aria-labelledby="rbac-h"] tbody tr', { hasText: 'Owner' }).waitFor();
  await inspectPage(admin, 'admin-azure-scope-rbac');
  await admin.getByRole('link', { name: 'Active assignments' }).click();
  await admin.locator('section[aria-labelledby="active-h"]').waitFor();
  await inspectPage(admin, 'admin-azure-scope-active');
});

test('The admin pages at 375 px', async () => {
  const phone = await signedIn(ADMIN, { width: 375, height: 800 });
  await phone.goto(`${origin}/roles`);
  await inspectPage(phone, 'admin-phone-roles');
  await phone.goto(`${origin}/roles?q=${encodeURIComponent(ROLE)}`);
  await phone.getByRole('link', { name: ROLE, exact: true }).click();
  await phone.getByRole('heading', { level: 1, name: ROLE }).waitFor();
  await inspectPage(phone, 'admin-phone-role');
  await phone.getByRole('link', { name: 'Role settings' }).click();
  await inspectPage(phone, 'admin-phone-settings');
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no horizontal page scroll at 375 px (${width})`);
  await phone.context().close();
});
