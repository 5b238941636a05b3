-- The initiator's display name beside its id and UPN (Graph's initiatedBy.user.displayName).
-- Older rows keep NULL; every row written from now on has it when the initiator is a user.
ALTER TABLE audit_log ADD COLUMN initiated_by_display_name TEXT;
