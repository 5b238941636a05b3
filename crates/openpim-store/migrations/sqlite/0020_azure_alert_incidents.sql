-- PIM alerts for Azure resource scopes (ARM roleManagementAlerts) reuse 0019's tables: alert
-- and configuration rows are keyed by their ARM ids, the owner alerts' count and percentage
-- thresholds sit in global_admin_count / percentage_of_global_admins. Their incidents have
-- three properties the directory's do not: the assignee's principal type (assigneeType), who
-- made an assignment outside PIM (requestorId), and the roles a custom role duplicates
-- (duplicateRoles).
ALTER TABLE role_management_alert_incidents ADD COLUMN assignee_type TEXT;
ALTER TABLE role_management_alert_incidents ADD COLUMN requestor_id TEXT;
ALTER TABLE role_management_alert_incidents ADD COLUMN detail TEXT;
