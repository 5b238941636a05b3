-- Graph's groupTypes: a Microsoft 365 group ("Unified"), which may be role-assignable like a
-- security group (the Graph documents create one with POST /beta/groups). Existing groups are
-- security groups.
ALTER TABLE directory_groups ADD COLUMN is_unified BIGINT NOT NULL DEFAULT 0;
