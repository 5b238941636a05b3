// The pages of the person who holds roles (issue #20): Overview, My roles (Eligible / Active /
// Expired tabs and the focused activation form), My requests and Approvals, driven in Debian's
// Chromium against a real `openpim serve` under libfaketime (the clock moves past the 5-minute
// rule and past an eligibility's end). Every page gets `inspectPage` (screenshot + axe-core),
// once more at 375 px.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, BIN, assertFlash, call, inspectPage, launchBrowser, startServer } from './harness.mjs';

const FAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find(
  existsSync,
);
const RM = '/v1.0/roleManagement/directory';
const BOB = 'bob@openpim.local';
const CAROL = 'carol@openpim.local';
const ALICE = 'alice@openpim.local';
const USER_ADMIN = 'User Administrator';
const GROUPS_ADMIN = 'Groups Administrator';
const HELPDESK = 'Helpdesk Administrator';
const PASSWORD_ADMIN = 'Password Administrator';
const REPORTS_READER = 'Reports Reader';

let server;
let data;
let origin;
let browser;
const ids = {};

function token(upn) {
  return execFileSync(BIN, ['token', '--data', data, '--user', upn, '--mfa'], { encoding: 'utf8' }).trim();
}

const api = (method, path, tok, body) => call(origin, method, path, tok, body);

let offsetMinutes = 0;
/** Moves the server's clock forward (libfaketime re-reads the offset file on every call). */
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
  await page.waitForURL(`${origin}/`);
  await assertFlash(page, `Signed in as ${upn}.`);
  return page;
}

/** The row of `role` in the table of the section headed `heading`. */
function row(page, section, role) {
  return page.locator(`section[aria-labelledby="${section}"] tbody tr`, { hasText: role });
}

async function roleId(admin, name) {
  const found = await api('GET', `${RM}/roleDefinitions?$filter=displayName eq '${name}'`, admin);
  assert.equal(found.value.length, 1, name);
  return found.value[0].id;
}

async function makeEligible(admin, upn, role, expiration) {
  await api('POST', `${RM}/roleEligibilityScheduleRequests`, admin, {
    action: 'adminAssign',
    principalId: ids[upn],
    roleDefinitionId: ids[role],
    directoryScopeId: '/',
    justification: 'rota',
    scheduleInfo: { startDateTime: new Date(Date.now() + offsetMinutes * 60_000).toISOString(), expiration },
  });
}

before(async () => {
  assert.ok(FAKETIME, 'libfaketime is needed to move the server clock (apt-get install faketime)');
  data = mkdtempSync(join(tmpdir(), 'openpim-myroles-'));
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
    [CAROL, 'Carol Coder'],
    [ALICE, 'Alice Approver'],
  ]) {
    const u = await api('POST', '/v1.0/users', admin, {
      accountEnabled: true,
      displayName: name,
      userPrincipalName: upn,
      mailNickname: upn.split('@')[0],
    });
    ids[upn] = u.id;
  }
  for (const role of [USER_ADMIN, GROUPS_ADMIN, HELPDESK, PASSWORD_ADMIN, REPORTS_READER]) {
    ids[role] = await roleId(admin, role);
  }
  // Bob holds Reports Reader through a role-assignable group.
  const group = await api('POST', '/v1.0/groups', admin, {
    displayName: 'Report Desk',
    mailEnabled: false,
    securityEnabled: true,
    mailNickname: 'reportdesk',
    isAssignableToRole: true,
  });
  await api('POST', `/v1.0/groups/${group.id}/members/$ref`, admin, {
    '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${ids[BOB]}`,
  });
  await api('POST', `${RM}/roleAssignmentScheduleRequests`, admin, {
    action: 'adminAssign',
    principalId: group.id,
    roleDefinitionId: ids[REPORTS_READER],
    directoryScopeId: '/',
    justification: 'report desk',
    scheduleInfo: { expiration: { type: 'noExpiration' } },
  });
  const permanent = { type: 'noExpiration' };
  await makeEligible(admin, BOB, USER_ADMIN, permanent);
  await makeEligible(admin, BOB, GROUPS_ADMIN, permanent);
  await makeEligible(admin, CAROL, GROUPS_ADMIN, permanent);
  // Ends within 14 days: Extend applies.
  await makeEligible(admin, BOB, HELPDESK, { type: 'afterDuration', duration: 'P7D' });
  // Ends in 10 minutes: after the clock moves, it is on the Expired tab for Renew.
  await makeEligible(admin, BOB, PASSWORD_ADMIN, { type: 'afterDuration', duration: 'PT10M' });
  // Groups Administrator needs alice's approval.
  const policies = await api(
    'GET',
    `/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '${ids[GROUPS_ADMIN]}'`,
    admin,
  );
  await api(
    'PATCH',
    `/v1.0/policies/roleManagementPolicies/${policies.value[0].policyId}/rules/Approval_EndUser_Assignment`,
    admin,
    {
      '@odata.type': '#microsoft.graph.unifiedRoleManagementPolicyApprovalRule',
      id: 'Approval_EndUser_Assignment',
      target: { caller: 'EndUser', operations: ['All'], level: 'Assignment' },
      setting: {
        isApprovalRequired: true,
        isApprovalRequiredForExtension: false,
        isRequestorJustificationRequired: true,
        approvalMode: 'SingleStage',
        approvalStages: [
          {
            approvalStageTimeOutInDays: 1,
            isApproverJustificationRequired: true,
            escalationTimeInMinutes: 0,
            isEscalationEnabled: false,
            primaryApprovers: [{ '@odata.type': '#microsoft.graph.singleUser', userId: ids[ALICE] }],
            escalationApprovers: [],
          },
        ],
      },
    },
  );
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

test('activate with approval, bulk approval, extend, cancel, deactivate with confirmation, renew', async () => {
  // 1. Bob's overview, then My roles: eligible roles as a table, each with Activate.
  const bob = await signedIn(BOB);
  await bob.getByRole('heading', { name: 'Your pending requests' }).waitFor();
  await inspectPage(bob, 'overview');
  await bob.getByRole('link', { name: 'My roles', exact: true }).click();
  const groups = row(bob, 'eligible-h', GROUPS_ADMIN);
  await groups.waitFor();
  for (const want of ['Directory', 'Direct', 'Permanent']) {
    assert.ok((await groups.innerText()).includes(want), `eligible row shows "${want}"`);
  }
  assert.equal(await bob.locator('form[action="/activate"]').count(), 0, 'no inline activation forms');
  await inspectPage(bob, 'my-roles-eligible');

  // 2. Activate opens its own page with exactly what the policy asks; Bob requests 2 hours.
  await groups.getByRole('link', { name: `Activate ${GROUPS_ADMIN}` }).click();
  await bob.getByRole('heading', { level: 1, name: `Activate ${GROUPS_ADMIN}` }).waitFor();
  const reqs = await bob.locator('#reqs').innerText();
  for (const need of ['at most 8 hours', 'Multi-factor authentication', 'A justification', 'Approval']) {
    assert.ok(reqs.includes(need), `requirements show "${need}": ${reqs}`);
  }
  assert.ok(!reqs.includes('Ticket information'), 'no ticket needed');
  assert.equal(await bob.getByLabel('Justification (required)').count(), 1);
  await inspectPage(bob, 'activate-form');
  await bob.getByLabel('2 h', { exact: true }).check();
  await bob.getByLabel('Justification (required)').fill('Clean up stale groups');
  await bob.getByLabel('Ticket number (optional)').fill('CHG-42');
  await bob.getByRole('button', { name: 'Request activation' }).click();
  await bob.waitForURL(/\/my-requests/);
  await assertFlash(bob, `Your request for ${GROUPS_ADMIN} is waiting for approval.`);
  const mine = row(bob, 'requests-h', GROUPS_ADMIN);
  assert.ok((await mine.innerText()).includes('PendingApproval'));
  assert.ok((await mine.innerText()).includes('for 2 hours'));
  await inspectPage(bob, 'my-requests-pending');

  // 3. Carol asks for the same role through the API; alice decides both at once.
  await api('POST', `${RM}/roleAssignmentScheduleRequests`, token(CAROL), {
    action: 'selfActivate',
    principalId: ids[CAROL],
    roleDefinitionId: ids[GROUPS_ADMIN],
    directoryScopeId: '/',
    justification: 'Quarterly group review',
    scheduleInfo: { expiration: { type: 'afterDuration', duration: 'PT1H' } },
  });
  const alice = await signedIn(ALICE);
  assert.ok((await alice.locator('section[aria-labelledby="ov-approvals-h"]').innerText()).includes('(2)'));
  await alice.getByRole('link', { name: 'Approvals', exact: true }).click();
  const queue = alice.locator('table.approvals tbody tr');
  await queue.first().waitFor();
  assert.equal(await queue.count(), 2);
  const bobs = queue.filter({ hasText: BOB });
  for (const want of [GROUPS_ADMIN, 'Clean up stale groups', 'CHG-42', 'Bob Builder', 'for 2 hours', 'Directory']) {
    assert.ok((await bobs.innerText()).includes(want), `queue row shows "${want}"`);
  }
  assert.match(await bobs.locator('td[data-label="Waiting"]').innerText(), /\d+ min/);
  await inspectPage(alice, 'approvals');
  for (const who of [BOB, CAROL]) await queue.filter({ hasText: who }).getByRole('checkbox').check();
  await alice.getByLabel('Reason').fill('Agreed in the change board');
  await alice.getByRole('button', { name: 'Approve selected' }).click();
  await assertFlash(alice, '2 requests are approved.');
  await alice.getByText('No requests are waiting for your decision.').waitFor();

  // 4. Bob's Active tab shows the approved role; Activate is gone from its eligible row.
  await bob.goto(`${origin}/my-roles?tab=active`);
  await row(bob, 'active-h', GROUPS_ADMIN).waitFor();
  await bob.goto(`${origin}/my-roles`);
  assert.equal(await row(bob, 'eligible-h', GROUPS_ADMIN).getByRole('link', { name: /Activate/ }).count(), 0);
  assert.ok((await row(bob, 'eligible-h', GROUPS_ADMIN).innerText()).includes('Active'));

  // 5. Bob activates User Administrator (no approval); within 5 minutes it cannot be deactivated.
  await row(bob, 'eligible-h', USER_ADMIN).getByRole('link', { name: `Activate ${USER_ADMIN}` }).click();
  await bob.getByLabel('Justification (required)').fill('INC-4711 password resets');
  await bob.getByRole('button', { name: 'Activate', exact: true }).click();
  await assertFlash(bob, `${USER_ADMIN} is active.`);
  const ua = row(bob, 'active-h', USER_ADMIN);
  assert.ok((await ua.innerText()).includes('an activation lasts at least 5 minutes'));
  assert.equal(await ua.getByRole('button', { name: /Deactivate/ }).count(), 0);
  // Held through a group: the row names the group and says why there is no Deactivate.
  const viaGroup = await row(bob, 'active-h', REPORTS_READER).innerText();
  assert.ok(viaGroup.includes('Group: Report Desk'), viaGroup);
  assert.ok(viaGroup.includes('Held through a group'), viaGroup);
  await inspectPage(bob, 'my-roles-active');

  // 5b. The admin's overview adds the tenant's figures: activations today, and eligible versus
  //     permanent holders of each privileged role (bob's User Administrator among them).
  const admin = await signedIn(ADMIN);
  await admin.getByRole('heading', { name: 'Tenant' }).waitFor();
  const today = await admin.locator('dl.figures').innerText();
  assert.match(today, /Activations today \(UTC\)\s*3/, today);
  const ua_counts = admin.locator('section[aria-labelledby="ov-tenant-h"] tbody tr', { hasText: USER_ADMIN });
  assert.deepEqual(
    await ua_counts.locator('td').allInnerTexts(),
    ['1', '0', '1'],
    'User Administrator: bob eligible, nobody permanent, bob activated',
  );
  await inspectPage(admin, 'overview-admin');
  // Bob (no right to read everyone's assignments) sees no tenant figures.
  await bob.goto(`${origin}/`);
  assert.equal(await bob.getByRole('heading', { name: 'Tenant' }).count(), 0);

  // 6. Extend: Helpdesk Administrator's eligibility ends within 14 days.
  await bob.goto(`${origin}/my-roles`);
  await row(bob, 'eligible-h', HELPDESK).getByRole('link', { name: `Extend eligibility for ${HELPDESK}` }).click();
  await bob.getByLabel('For how long (days)').fill('60');
  await bob.getByLabel('Justification').fill('Still on the helpdesk rota');
  await inspectPage(bob, 'extend-form');
  await bob.getByRole('button', { name: 'Send request' }).click();
  await assertFlash(bob, `Your request for ${HELPDESK} is waiting for an administrator.`);

  // 7. Cancel that pending request from My requests, after a confirmation page.
  await bob.getByRole('link', { name: 'My requests', exact: true }).click();
  const ext = row(bob, 'requests-h', HELPDESK);
  assert.ok((await ext.innerText()).includes('Extend eligibility'));
  await ext.getByRole('button', { name: `Cancel request for ${HELPDESK}` }).click();
  await bob.getByRole('heading', { name: 'Please confirm' }).waitFor();
  assert.ok((await bob.locator('#confirm-what').innerText()).includes(HELPDESK));
  await inspectPage(bob, 'confirm-cancel');
  await bob.getByRole('button', { name: 'Cancel the request' }).click();
  await assertFlash(bob, 'The request is canceled.');
  assert.ok((await row(bob, 'requests-h', HELPDESK).innerText()).includes('Canceled'));

  // 8. Eleven minutes later: User Administrator can be deactivated (after confirming), and
  //    Password Administrator's eligibility has ended.
  advanceClock(11);
  await bob.goto(`${origin}/my-roles?tab=active`);
  await row(bob, 'active-h', USER_ADMIN).getByRole('button', { name: `Deactivate ${USER_ADMIN}` }).click();
  await bob.getByRole('heading', { name: 'Please confirm' }).waitFor();
  assert.ok((await bob.locator('#confirm-what').innerText()).includes('ends now'));
  await inspectPage(bob, 'confirm-deactivate');
  await bob.getByRole('button', { name: `Deactivate ${USER_ADMIN}` }).click();
  await assertFlash(bob, `${USER_ADMIN} is deactivated.`);
  assert.equal(await row(bob, 'active-h', USER_ADMIN).count(), 0);

  // 9. Renew from the Expired tab.
  await bob.getByRole('link', { name: 'Expired', exact: true }).click();
  const expired = row(bob, 'expired-h', PASSWORD_ADMIN);
  await expired.waitFor();
  await inspectPage(bob, 'my-roles-expired');
  await expired.getByRole('link', { name: `Renew ${PASSWORD_ADMIN}` }).click();
  await bob.getByLabel('Justification').fill('Back on password duty');
  await bob.getByRole('button', { name: 'Send request' }).click();
  await assertFlash(bob, `Your request for ${PASSWORD_ADMIN} is waiting for an administrator.`);

  // 10. The pages at phone width (375 px).
  const phone = await signedIn(BOB, { width: 375, height: 812 });
  await inspectPage(phone, 'overview-375');
  for (const [path, name] of [
    ['/my-roles', 'my-roles-375'],
    ['/my-roles?tab=active', 'my-roles-active-375'],
    ['/my-requests?status=all', 'my-requests-375'],
    [`/my-roles/activate?role=${ids[USER_ADMIN]}&scope=%2F`, 'activate-form-375'],
    ['/approvals', 'approvals-375'],
  ]) {
    await phone.goto(`${origin}${path}`);
    await inspectPage(phone, name);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `${path}: no sideways scrolling of the page on a phone (${width}px)`);
  }
});
