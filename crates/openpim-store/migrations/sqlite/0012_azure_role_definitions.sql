-- Azure role definitions (issue #15) beside the directory's: one table, one id space, a dialect
-- per row. Existing rows are directory roles.
ALTER TABLE role_definitions ADD COLUMN dialect TEXT NOT NULL DEFAULT 'Directory';
-- Names are unique per dialect (Azure and Entra both have a "Security Reader"). A directory name
-- compares exactly, as before; an Azure name case-insensitively, as ARM compares role names, so
-- the writer stores it lower-cased here.
ALTER TABLE role_definitions ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE role_definitions SET name_key = display_name;
DROP INDEX role_definitions_display_name;
CREATE UNIQUE INDEX role_definitions_name ON role_definitions (dialect, name_key);
-- ARM's assignableScopes (a JSON array of scope strings; '/' for built-in roles), and who
-- created and last updated a custom role (ARM's createdBy/updatedBy).
ALTER TABLE role_definitions ADD COLUMN assignable_scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE role_definitions ADD COLUMN created_by TEXT;
ALTER TABLE role_definitions ADD COLUMN updated_by TEXT;
