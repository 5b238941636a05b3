-- Azure role assignments (issue #15) are rows of the schedule tables, so PIM for Azure (issue #16)
-- works on the same rows. ARM compares scopes case-insensitively: `scope_key` is the scope's
-- ASCII-lowercased text (core's `Scope::key`), and every lookup and the live-uniqueness rule use
-- it, while `directory_scope_id` keeps the spelling the client gave. Directory scopes print in one
-- spelling with lowercase GUIDs, so lowercasing the existing rows yields their key.
ALTER TABLE role_assignments ADD COLUMN scope_key TEXT NOT NULL DEFAULT '';
UPDATE role_assignments SET scope_key = lower(directory_scope_id);
ALTER TABLE role_eligibilities ADD COLUMN scope_key TEXT NOT NULL DEFAULT '';
UPDATE role_eligibilities SET scope_key = lower(directory_scope_id);
ALTER TABLE schedule_requests ADD COLUMN scope_key TEXT NOT NULL DEFAULT '';
UPDATE schedule_requests SET scope_key = lower(directory_scope_id);

DROP INDEX role_assignments_live;
CREATE UNIQUE INDEX role_assignments_live ON role_assignments (principal_id, role_definition_id, scope_key)
    WHERE status <> 'Expired';
DROP INDEX role_eligibilities_live;
CREATE UNIQUE INDEX role_eligibilities_live ON role_eligibilities (principal_id, role_definition_id, scope_key)
    WHERE status <> 'Expired';
-- Listing at a scope and below reads by key prefix.
CREATE INDEX role_assignments_scope_key ON role_assignments (scope_key);
CREATE INDEX role_eligibilities_scope_key ON role_eligibilities (scope_key);

-- What ARM's roleAssignments carry beyond a schedule. The row id is ARM's assignment name (a
-- client-chosen GUID, unique in the tenant), so no separate name column. `condition` and
-- `condition_version` stay empty while OpenPIM refuses ABAC conditions (no evaluator); they are
-- here so PIM for Azure requests (which carry them too) need no further migration.
ALTER TABLE role_assignments ADD COLUMN description TEXT;
ALTER TABLE role_assignments ADD COLUMN condition TEXT;
ALTER TABLE role_assignments ADD COLUMN condition_version TEXT;
ALTER TABLE role_assignments ADD COLUMN updated_by TEXT;
