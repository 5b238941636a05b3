//! The access history (issue #21): who held which role, and who was in which group, when.
//!
//! Written by `WriteTx::commit`, inside the change's own transaction, from the access-index
//! updates the change produced: every grant, revocation and membership change already flows
//! through them (the live index follows nothing else), so no write path can forget its history.
//! Rows are append-only: a row is inserted when something starts to hold, and the one later write
//! to it closes it (sets `closed_at`, once, and shortens `valid_to` to that instant if it would
//! have lasted longer). A time-bound grant's end is known when it is granted, so expiry writes
//! nothing the history needs; only an early end (deactivation, removal) closes a row early.
//!
//! History began when this was first deployed: `start` records what existed then (from the same
//! updates the index loads at start) and the instant, which answers report as `historyStartsAt`.

use crate::codec::{from_micros, id_text, micros, RowExt};
use crate::{Backend, Store, StoreError, StoreResult};
use openpim_core::access::{Grant, GrantSource};
use openpim_core::change::IndexUpdate;
use openpim_core::history::{GroupKindRecord, HistoryFacts, Interval, MembershipRecord};
use openpim_core::scope::Scope;
use openpim_core::{Instant, ObjectId};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use std::collections::HashSet;

/// Deepest group nesting followed when loading memberships (the index ends cycles; this bounds
/// the queries on pathological data).
const MAX_NESTING: usize = 64;
/// Ids per `IN (...)` list.
const CHUNK: usize = 400;

fn source_text(s: GrantSource) -> &'static str {
    match s {
        GrantSource::Assigned => "Assigned",
        GrantSource::Activated => "Activated",
    }
}

/// `valid_to` of a row closed at `$2`: the earlier of its planned end and `$2`, never before its
/// start (a grant removed before it began held for no time at all).
const CLOSE: &str = "closed_at = $2, valid_to = CASE WHEN valid_to IS NULL OR valid_to > $2 THEN \
                     (CASE WHEN $2 > valid_from THEN $2 ELSE valid_from END) ELSE valid_to END";

/// Records what `updates` change in who holds what, at `at` (microseconds).
pub(crate) async fn record(conn: &mut AnyConnection, updates: &[IndexUpdate], at: i64) -> StoreResult<()> {
    for update in updates {
        match update {
            IndexUpdate::GrantAdded(g) => open_grant(conn, g, at).await?,
            IndexUpdate::GrantRemoved(id) => close(conn, "grant_history", "grant_id = $1", &[*id], at).await?,
            IndexUpdate::GroupSaved { group_id, is_assignable_to_role, is_security_enabled } => {
                set_group_kind(conn, *group_id, *is_assignable_to_role, *is_security_enabled, at).await?
            }
            IndexUpdate::GroupDeleted(id) => {
                close(conn, "grant_history", "principal_id = $1", &[*id], at).await?;
                close(conn, "membership_history", "(group_id = $1 OR member_id = $1)", &[*id], at).await?;
                close(conn, "group_kind_history", "group_id = $1", &[*id], at).await?;
            }
            IndexUpdate::MemberAdded { group_id, member_id } => {
                let open = sqlx::query(
                    "SELECT seq FROM membership_history WHERE group_id = $1 AND member_id = $2 AND closed_at IS NULL",
                )
                .bind(id_text(*group_id))
                .bind(id_text(*member_id))
                .fetch_optional(&mut *conn)
                .await
                .map_err(StoreError::Db)?;
                if open.is_none() {
                    sqlx::query(
                        "INSERT INTO membership_history (group_id, member_id, valid_from, recorded_at) \
                         VALUES ($1, $2, $3, $3)",
                    )
                    .bind(id_text(*group_id))
                    .bind(id_text(*member_id))
                    .bind(at)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::Db)?;
                }
            }
            IndexUpdate::MemberRemoved { group_id, member_id } => {
                close(conn, "membership_history", "group_id = $1 AND member_id = $3", &[*group_id, *member_id], at)
                    .await?
            }
            IndexUpdate::PrincipalDeleted(id) => {
                close(conn, "grant_history", "principal_id = $1", &[*id], at).await?;
                close(conn, "membership_history", "member_id = $1", &[*id], at).await?;
            }
            // The history follows grants; what a role allows is always today's definition (a
            // deleted role's grants, if any are left, grant nothing but stay on record).
            IndexUpdate::RoleDefinitionSaved(_)
            | IndexUpdate::RoleDefinitionDeleted(_)
            | IndexUpdate::ManagementGroupParentSet { .. } => {}
        }
    }
    Ok(())
}

/// Closes the open rows of `table` matching `condition` (`$1` the first id, `$3` the second).
async fn close(conn: &mut AnyConnection, table: &str, condition: &str, ids: &[ObjectId], at: i64) -> StoreResult<()> {
    let sql = format!("UPDATE {table} SET {CLOSE} WHERE {condition} AND closed_at IS NULL");
    let mut q = sqlx::query(&sql).bind(id_text(ids[0])).bind(at);
    if let Some(second) = ids.get(1) {
        q = q.bind(id_text(*second));
    }
    q.execute(conn).await.map_err(StoreError::Db)?;
    Ok(())
}

/// A grant added or rewritten (extended, renewed, cut short). The same grant again (a replayed
/// or unchanged update) writes nothing; a changed window closes the open row now and opens a new
/// one from now, so the row an auditor read is never rewritten.
async fn open_grant(conn: &mut AnyConnection, g: &Grant, at: i64) -> StoreResult<()> {
    let scope = g.scope.to_string();
    let (start, end) = (g.start.map(micros), g.end.map(micros));
    let open = sqlx::query(
        "SELECT principal_id, role_definition_id, scope, source, grant_start, valid_to FROM grant_history \
         WHERE grant_id = $1 AND closed_at IS NULL",
    )
    .bind(id_text(g.id))
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::Db)?;
    if let Some(row) = open {
        let same = row.id("principal_id")? == g.principal_id
            && row.id("role_definition_id")? == g.role_definition_id
            && row.text("scope")? == scope
            && row.text("source")? == source_text(g.source)
            && row.opt_int("grant_start")? == start
            && row.opt_int("valid_to")? == end;
        if same {
            return Ok(());
        }
        close(conn, "grant_history", "grant_id = $1", &[g.id], at).await?;
    }
    let valid_from = start.unwrap_or(at).max(at);
    if end.is_some_and(|e| e <= valid_from) {
        // Already over: it never held after this moment.
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO grant_history (grant_id, principal_id, role_definition_id, scope, source, grant_start, \
         valid_from, valid_to, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id_text(g.id))
    .bind(id_text(g.principal_id))
    .bind(id_text(g.role_definition_id))
    .bind(scope)
    .bind(source_text(g.source))
    .bind(start)
    .bind(valid_from)
    .bind(end)
    .bind(at)
    .execute(conn)
    .await
    .map_err(StoreError::Db)?;
    Ok(())
}

async fn set_group_kind(
    conn: &mut AnyConnection,
    group: ObjectId,
    assignable: bool,
    security: bool,
    at: i64,
) -> StoreResult<()> {
    let open = sqlx::query(
        "SELECT is_assignable_to_role, is_security_enabled FROM group_kind_history \
         WHERE group_id = $1 AND closed_at IS NULL",
    )
    .bind(id_text(group))
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::Db)?;
    if let Some(row) = open {
        if row.bool("is_assignable_to_role")? == assignable && row.bool("is_security_enabled")? == security {
            return Ok(());
        }
        close(conn, "group_kind_history", "group_id = $1", &[group], at).await?;
    }
    sqlx::query(
        "INSERT INTO group_kind_history (group_id, is_assignable_to_role, is_security_enabled, valid_from, \
         recorded_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(id_text(group))
    .bind(i64::from(assignable))
    .bind(i64::from(security))
    .bind(at)
    .execute(conn)
    .await
    .map_err(StoreError::Db)?;
    Ok(())
}

/// Rows overlapping `[from, to)`.
const OVERLAPS: &str =
    "(valid_to IS NULL OR valid_to > valid_from) AND valid_from < $1 AND (valid_to IS NULL OR valid_to > $2)";

fn window_bounds(window: Interval) -> (i64, i64) {
    (window.to.map_or(i64::MAX, micros), micros(window.from))
}

fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(",")
}

fn decode_grant(r: &AnyRow) -> StoreResult<Grant> {
    let scope_raw = r.text("scope")?;
    Ok(Grant {
        id: r.id("grant_id")?,
        principal_id: r.id("principal_id")?,
        role_definition_id: r.id("role_definition_id")?,
        scope: Scope::parse(&scope_raw).map_err(|_| StoreError::Corrupt(format!("history scope '{scope_raw}'")))?,
        start: Some(r.time("valid_from")?),
        end: r.opt_time("valid_to")?,
        source: if r.text("source")? == "Activated" { GrantSource::Activated } else { GrantSource::Assigned },
    })
}

fn decode_membership(r: &AnyRow) -> StoreResult<MembershipRecord> {
    Ok(MembershipRecord {
        group_id: r.id("group_id")?,
        member_id: r.id("member_id")?,
        during: Interval::new(r.time("valid_from")?, r.opt_time("valid_to")?),
    })
}

impl Store {
    /// When the history began, once `start_access_history` ran.
    pub async fn access_history_start(&self) -> StoreResult<Option<Instant>> {
        let row = sqlx::query("SELECT started_at FROM access_history_start WHERE id = 1")
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.map(|r| from_micros(r.int("started_at")?)).transpose()
    }

    /// Starts the history if it has not started (the first start after the migration): records
    /// what exists now, `updates` (what [`Store::load_index`] returned, which the caller loads
    /// for its index anyway), and `now` as its start. Returns the start. Writes through the
    /// change path already record their history, so what was written since the migration is
    /// kept (recording it again changes nothing), including any committed after `updates` were
    /// loaded.
    pub async fn start_access_history(&self, now: Instant, updates: &[IndexUpdate]) -> StoreResult<Instant> {
        if let Some(start) = self.access_history_start().await? {
            return Ok(start);
        }
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool().begin().await,
        }
        .map_err(StoreError::Db)?;
        if self.backend == Backend::Postgres {
            // Serialised with every node's commits (they take it before recording history).
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(crate::feed::COMMIT_ORDER_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::Db)?;
        }
        let started = sqlx::query("SELECT started_at FROM access_history_start WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::Db)?;
        if let Some(r) = started {
            // Another node started it meanwhile.
            return from_micros(r.int("started_at")?);
        }
        let at = micros(now);
        record(&mut tx, updates, at).await?;
        sqlx::query("INSERT INTO access_history_start (id, started_at) VALUES (1, $1)")
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::Db)?;
        tx.commit().await.map_err(StoreError::Db)?;
        Ok(now)
    }

    /// Memberships overlapping `window` of `seeds` and of every group they were in (`up`), or of
    /// `seeds`' members and their members (`!up`), to `MAX_NESTING` levels.
    async fn memberships_reached(
        &self,
        seeds: &[ObjectId],
        window: Interval,
        up: bool,
    ) -> StoreResult<Vec<MembershipRecord>> {
        let (to, from) = window_bounds(window);
        let (near, far) = if up { ("member_id", "group_id") } else { ("group_id", "member_id") };
        let mut seen: HashSet<ObjectId> = seeds.iter().copied().collect();
        let mut frontier: Vec<ObjectId> = seeds.to_vec();
        let mut out = Vec::new();
        for _ in 0..MAX_NESTING {
            if frontier.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for chunk in frontier.chunks(CHUNK) {
                let sql = format!(
                    "SELECT group_id, member_id, valid_from, valid_to FROM membership_history \
                     WHERE {OVERLAPS} AND {near} IN ({})",
                    placeholders(3, chunk.len())
                );
                let mut q = sqlx::query(&sql).bind(to).bind(from);
                for id in chunk {
                    q = q.bind(id_text(*id));
                }
                for r in q.fetch_all(self.pool()).await.map_err(StoreError::Db)? {
                    let far_id = r.id(far)?;
                    if seen.insert(far_id) {
                        next.push(far_id);
                    }
                    out.push(decode_membership(&r)?);
                }
            }
            frontier = next;
        }
        Ok(out)
    }

    /// Grant rows overlapping `window` of any of `holders` (optionally of one role only).
    async fn grants_of(
        &self,
        holders: &[ObjectId],
        window: Interval,
        role: Option<ObjectId>,
    ) -> StoreResult<Vec<Grant>> {
        let (to, from) = window_bounds(window);
        let mut out = Vec::new();
        for chunk in holders.chunks(CHUNK) {
            let role_clause =
                if role.is_some() { format!(" AND role_definition_id = ${}", chunk.len() + 3) } else { String::new() };
            let sql = format!(
                "SELECT * FROM grant_history WHERE {OVERLAPS} AND principal_id IN ({}){role_clause} ORDER BY seq",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(to).bind(from);
            for id in chunk {
                q = q.bind(id_text(*id));
            }
            if let Some(role) = role {
                q = q.bind(id_text(role));
            }
            for r in q.fetch_all(self.pool()).await.map_err(StoreError::Db)? {
                out.push(decode_grant(&r)?);
            }
        }
        Ok(out)
    }

    async fn group_kinds_of(&self, groups: &[ObjectId], window: Interval) -> StoreResult<Vec<GroupKindRecord>> {
        let (to, from) = window_bounds(window);
        let mut out = Vec::new();
        for chunk in groups.chunks(CHUNK) {
            let sql = format!(
                "SELECT * FROM group_kind_history WHERE {OVERLAPS} AND group_id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(to).bind(from);
            for id in chunk {
                q = q.bind(id_text(*id));
            }
            for r in q.fetch_all(self.pool()).await.map_err(StoreError::Db)? {
                out.push(GroupKindRecord {
                    group_id: r.id("group_id")?,
                    is_assignable_to_role: r.bool("is_assignable_to_role")?,
                    is_security_enabled: r.bool("is_security_enabled")?,
                    during: Interval::new(r.time("valid_from")?, r.opt_time("valid_to")?),
                });
            }
        }
        Ok(out)
    }

    /// What decided `principal`'s access within `window`: the groups it was in (nested too),
    /// what kind they were, and the grants it and they held.
    pub async fn history_of_principal(&self, principal: ObjectId, window: Interval) -> StoreResult<HistoryFacts> {
        let memberships = self.memberships_reached(&[principal], window, true).await?;
        let mut groups: Vec<ObjectId> = memberships.iter().map(|m| m.group_id).collect();
        groups.sort_unstable();
        groups.dedup();
        let group_kinds = self.group_kinds_of(&groups, window).await?;
        groups.push(principal);
        let grants = self.grants_of(&groups, window, None).await?;
        Ok(HistoryFacts { grants, memberships, group_kinds })
    }

    /// Who may have held `role` within `window` (its holders and every principal nested in a
    /// holding group), and the facts that decide it for each of them.
    pub async fn history_of_role(
        &self,
        role: ObjectId,
        window: Interval,
    ) -> StoreResult<(Vec<ObjectId>, HistoryFacts)> {
        let (to, from) = window_bounds(window);
        let sql =
            format!("SELECT DISTINCT principal_id FROM grant_history WHERE {OVERLAPS} AND role_definition_id = $3");
        let holders = sqlx::query(&sql)
            .bind(to)
            .bind(from)
            .bind(id_text(role))
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::Db)?
            .iter()
            .map(|r| r.id("principal_id"))
            .collect::<StoreResult<Vec<_>>>()?;
        let memberships = self.memberships_reached(&holders, window, false).await?;
        let mut principals: Vec<ObjectId> =
            holders.iter().copied().chain(memberships.iter().map(|m| m.member_id)).collect();
        principals.sort_unstable();
        principals.dedup();
        let mut groups: Vec<ObjectId> = memberships.iter().map(|m| m.group_id).collect();
        groups.sort_unstable();
        groups.dedup();
        let group_kinds = self.group_kinds_of(&groups, window).await?;
        let grants = self.grants_of(&holders, window, Some(role)).await?;
        Ok((principals, HistoryFacts { grants, memberships, group_kinds }))
    }
}
