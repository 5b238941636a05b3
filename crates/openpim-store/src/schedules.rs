//! Eligibility and assignment schedules, schedule requests, and the views that expand
//! group-held schedules to their members (`memberType: Group`).

use crate::codec::{id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page, Restriction};
use crate::{schema, Store, StoreError, StoreResult, WriteTx};
use openpim_core::access::{Grant, GrantSource};
use openpim_core::change::IndexUpdate;
use openpim_core::directory::ObjectKind;
use openpim_core::duration;
use openpim_core::schedule::{
    Action, AssignmentType, Expiration, ExpirationType, Kind, MemberType, PrincipalFacts, RequestSchedule,
    RequestStatus, Schedule, ScheduleRequest, ScheduleStatus, Ticket,
};
use openpim_core::scope::{DirectoryScope, Scope};
use openpim_core::{Instant, ObjectId};
use openpim_odata::SqlParam;
use sqlx::any::AnyRow;

pub(crate) fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => "role_eligibilities",
        Kind::Assignment => "role_assignments",
    }
}

pub(crate) fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Eligibility => "eligibility",
        Kind::Assignment => "assignment",
    }
}

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} '{v}'"))
}

pub(crate) fn decode_schedule(r: &AnyRow, kind: Kind, id_col: &str, principal_col: &str) -> StoreResult<Schedule> {
    let scope_raw = r.text("directory_scope_id")?;
    let status = r.text("status")?;
    let exp = r.text("expiration_type")?;
    let principal_type = r.text("principal_type")?;
    Ok(Schedule {
        id: r.id(id_col)?,
        kind,
        principal_id: r.id(principal_col)?,
        principal_kind: principal_type.parse::<ObjectKind>().map_err(|_| corrupt("principal_type", &principal_type))?,
        role_definition_id: r.id("role_definition_id")?,
        scope: Scope::parse(&scope_raw).map_err(|_| corrupt("scope", &scope_raw))?,
        assignment_type: match r.opt_text("assignment_type")?.as_deref() {
            Some("Activated") => Some(AssignmentType::Activated),
            Some(_) => Some(AssignmentType::Assigned),
            None => None,
        },
        start: r.time("start_at")?,
        end: r.opt_time("end_at")?,
        expiration_type: exp.parse::<ExpirationType>().map_err(|_| corrupt("expiration_type", &exp))?,
        duration: r.opt_text("duration")?.as_deref().and_then(duration::parse),
        status: status.parse::<ScheduleStatus>().map_err(|_| corrupt("status", &status))?,
        created_using: r.opt_text("created_using")?.map(|s| crate::codec::parse_id(&s)).transpose()?,
        activated_using: r.opt_text("activated_using")?.map(|s| crate::codec::parse_id(&s)).transpose()?,
        created: r.time("created_at")?,
        modified: r.time("modified_at")?,
        created_by: r.opt_text("created_by")?.map(|s| crate::codec::parse_id(&s)).transpose()?,
    })
}

/// The columns of `role_assignments` the access index needs (see [`decode_grant`]).
pub(crate) const GRANT_COLUMNS: &str =
    "id, principal_id, role_definition_id, directory_scope_id, start_at, end_at, assignment_type";

/// A live assignment row as the access index holds it: what [`Schedule::to_grant`] gives, read
/// from [`GRANT_COLUMNS`] only, so loading the index at start-up decodes 7 columns per row, not 17.
pub(crate) fn decode_grant(r: &AnyRow) -> StoreResult<Grant> {
    let scope_raw = r.text("directory_scope_id")?;
    Ok(Grant {
        id: r.id("id")?,
        principal_id: r.id("principal_id")?,
        role_definition_id: r.id("role_definition_id")?,
        scope: Scope::parse(&scope_raw).map_err(|_| corrupt("scope", &scope_raw))?,
        start: Some(r.time("start_at")?),
        end: r.opt_time("end_at")?,
        source: match r.opt_text("assignment_type")?.as_deref() {
            Some("Activated") => GrantSource::Activated,
            _ => GrantSource::Assigned,
        },
    })
}

/// An assignment schedule row of `role_assignments`.
pub(crate) fn decode_assignment(r: &AnyRow) -> StoreResult<Schedule> {
    decode_schedule(r, Kind::Assignment, "id", "principal_id")
}

/// A schedule as one principal holds it: directly, or as a member of the group it is assigned to.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldSchedule {
    /// `{scheduleId}` when held directly, `{scheduleId}_{memberId}` when held through a group.
    pub id: String,
    /// The holder: the schedule's principal, or the group member.
    pub principal_id: ObjectId,
    pub member_type: MemberType,
    /// The underlying schedule (its `principal_id` is the group for group-held rows).
    pub schedule: Schedule,
}

fn decode_held(r: &AnyRow, kind: Kind) -> StoreResult<HeldSchedule> {
    let mut schedule = decode_schedule(r, kind, "schedule_id", "assigned_principal_id")?;
    schedule.kind = kind;
    Ok(HeldSchedule {
        id: r.text("id")?,
        principal_id: r.id("principal_id")?,
        member_type: if r.text("member_type")? == "Group" { MemberType::Group } else { MemberType::Direct },
        schedule,
    })
}

/// Which held schedules a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Not expired: current and future (the schedules endpoints).
    Live,
    /// In effect at this instant (the instances endpoints).
    EffectiveAt(Instant),
}

/// The SQL of the held-schedules view. `now` is inlined as an integer we computed ourselves.
/// Rows at directory scopes: the Graph lists show only these. The same tables hold Azure role
/// assignments and PIM for Azure rows at ARM scopes (keys `/subscriptions/...`,
/// `/providers/...`), which Graph cannot render (`InvalidDirectoryScope`).
const DIRECTORY_ROWS: &str = "NOT (scope_key LIKE '/subscriptions/%' OR scope_key LIKE '/providers/%')";

fn held_view(kind: Kind, window: Window, now: Instant) -> String {
    let t = table(kind);
    let now_us = micros(now);
    let mut cond = format!("s.status <> 'Expired' AND (s.end_at IS NULL OR s.end_at > {now_us})");
    if let Window::EffectiveAt(at) = window {
        let at_us = micros(at);
        cond = format!("s.status <> 'Expired' AND s.start_at <= {at_us} AND (s.end_at IS NULL OR s.end_at > {at_us})");
    }
    cond.push_str(&format!(" AND {}", DIRECTORY_ROWS.replace("scope_key", "s.scope_key")));
    let cols = "s.principal_id AS assigned_principal_id, s.principal_type, s.role_definition_id, \
                s.directory_scope_id, s.app_scope_id, s.status, s.assignment_type, s.start_at, s.end_at, \
                s.expiration_type, s.duration, s.created_using, s.activated_using, s.created_at, s.modified_at, \
                s.created_by, s.id AS schedule_id";
    format!(
        "(SELECT s.id AS id, s.principal_id AS principal_id, 'Direct' AS member_type, {cols} FROM {t} s WHERE {cond} \
         UNION ALL \
         SELECT s.id || '_' || m.member_id AS id, m.member_id AS principal_id, 'Group' AS member_type, {cols} \
         FROM {t} s JOIN group_members m ON m.group_id = s.principal_id WHERE s.principal_type = 'group' AND {cond}) held"
    )
}

pub(crate) fn decode_request(r: &AnyRow) -> StoreResult<ScheduleRequest> {
    let kind = if r.text("kind")? == "eligibility" { Kind::Eligibility } else { Kind::Assignment };
    let action_raw = r.text("action")?;
    let status_raw = r.text("status")?;
    let scope_raw = r.text("directory_scope_id")?;
    let schedule = match r.opt_text("expiration_type")? {
        None => None,
        Some(exp) => Some(RequestSchedule {
            start: r.opt_time("start_at")?,
            expiration: Expiration {
                kind: exp.parse::<ExpirationType>().map_err(|_| corrupt("expiration_type", &exp))?,
                end: r.opt_time("end_at")?,
                duration: r.opt_text("duration")?.as_deref().and_then(duration::parse),
            },
        }),
    };
    Ok(ScheduleRequest {
        id: r.id("id")?,
        kind,
        action: action_raw.parse::<Action>().map_err(|_| corrupt("action", &action_raw))?,
        principal_id: r.id("principal_id")?,
        role_definition_id: r.id("role_definition_id")?,
        scope: Scope::parse(&scope_raw).map_err(|_| corrupt("scope", &scope_raw))?,
        justification: r.opt_text("justification")?,
        schedule,
        ticket: Ticket { number: r.opt_text("ticket_number")?, system: r.opt_text("ticket_system")? },
        status: status_raw.parse::<RequestStatus>().map_err(|_| corrupt("status", &status_raw))?,
        created: r.time("created_at")?,
        completed: r.opt_time("completed_at")?,
        created_by: r.id("created_by")?,
        target_schedule_id: r.opt_text("target_schedule_id")?.map(|s| crate::codec::parse_id(&s)).transpose()?,
        approval_id: r.opt_text("approval_id")?,
        is_validation_only: false,
        custom_data: r.opt_text("custom_data")?,
    })
}

/// Which requests a list shows.
#[derive(Debug, Clone)]
pub enum RequestFilter {
    All,
    /// `filterByCurrentUser(on='principal')`
    Principal(ObjectId),
    /// `filterByCurrentUser(on='createdBy')`
    CreatedBy(ObjectId),
}

impl Store {
    /// One stored schedule by id.
    pub async fn get_schedule(&self, kind: Kind, id: ObjectId) -> StoreResult<Option<Schedule>> {
        let sql = format!("SELECT * FROM {} WHERE id = $1", table(kind));
        let row = sqlx::query(&sql).bind(id_text(id)).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        row.as_ref().map(|r| decode_schedule(r, kind, "id", "principal_id")).transpose()
    }

    /// Held schedules (schedules or instances) with OData options; `holder` restricts to one
    /// principal (for `filterByCurrentUser`).
    pub async fn list_held(
        &self,
        kind: Kind,
        window: Window,
        now: Instant,
        holder: Option<ObjectId>,
        req: &ListRequest<'_>,
    ) -> StoreResult<Page<HeldSchedule>> {
        let view = held_view(kind, window, now);
        let restriction =
            holder.map(|h| Restriction { sql: "principal_id = $1".into(), params: vec![SqlParam::Text(id_text(h))] });
        let schema = match (kind, window) {
            (Kind::Assignment, Window::Live) => &schema::ASSIGNMENT_SCHEDULE,
            (Kind::Assignment, Window::EffectiveAt(_)) => &schema::ASSIGNMENT_INSTANCE,
            (Kind::Eligibility, Window::Live) => &schema::ELIGIBILITY_SCHEDULE,
            (Kind::Eligibility, Window::EffectiveAt(_)) => &schema::ELIGIBILITY_INSTANCE,
        };
        list(self.pool(), &view, schema, restriction, req, |r| decode_held(r, kind)).await
    }

    /// One held schedule by its view id.
    pub async fn get_held(
        &self,
        kind: Kind,
        window: Window,
        now: Instant,
        id: &str,
    ) -> StoreResult<Option<HeldSchedule>> {
        let sql = format!("SELECT * FROM {} WHERE id = $1", held_view(kind, window, now));
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        row.as_ref().map(|r| decode_held(r, kind)).transpose()
    }

    /// Direct role assignments in effect at `now` (the `roleAssignments` endpoint), of
    /// `holder` only when given.
    pub async fn list_role_assignments(
        &self,
        now: Instant,
        holder: Option<ObjectId>,
        req: &ListRequest<'_>,
    ) -> StoreResult<Page<Schedule>> {
        let n = micros(now);
        let in_effect = format!(
            "status <> 'Expired' AND start_at <= {n} AND (end_at IS NULL OR end_at > {n}) AND {DIRECTORY_ROWS}"
        );
        let restriction = match holder {
            Some(h) => Restriction {
                sql: format!("{in_effect} AND principal_id = $1"),
                params: vec![SqlParam::Text(id_text(h))],
            },
            None => Restriction { sql: in_effect, params: vec![] },
        };
        list(self.pool(), "role_assignments", &schema::ROLE_ASSIGNMENT, Some(restriction), req, |r| {
            decode_schedule(r, Kind::Assignment, "id", "principal_id")
        })
        .await
    }

    /// A role assignment by id, if it is in effect at `now`.
    pub async fn get_role_assignment(&self, id: ObjectId, now: Instant) -> StoreResult<Option<Schedule>> {
        Ok(self.get_schedule(Kind::Assignment, id).await?.filter(|s| s.is_effective(now)))
    }

    pub async fn count_assignments_of_role(&self, role: ObjectId) -> StoreResult<u64> {
        let mut n = 0;
        for kind in [Kind::Assignment, Kind::Eligibility] {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM {} WHERE role_definition_id = $1 AND status <> 'Expired'",
                table(kind)
            );
            let row = sqlx::query(&sql).bind(id_text(role)).fetch_one(self.pool()).await.map_err(StoreError::Db)?;
            n += row.int("n")? as u64;
        }
        Ok(n)
    }

    pub async fn get_request(&self, kind: Kind, id: ObjectId) -> StoreResult<Option<ScheduleRequest>> {
        let row = sqlx::query("SELECT * FROM schedule_requests WHERE id = $1 AND kind = $2")
            .bind(id_text(id))
            .bind(kind_text(kind))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode_request).transpose()
    }

    pub async fn list_requests(
        &self,
        kind: Kind,
        filter: RequestFilter,
        req: &ListRequest<'_>,
    ) -> StoreResult<Page<ScheduleRequest>> {
        let mut params = vec![SqlParam::Text(kind_text(kind).into())];
        // Graph lists directory requests; those at ARM scopes are PIM for Azure resources'
        // (`azure_pim::arm_requests`).
        let sql = match filter {
            RequestFilter::All => format!("kind = $1 AND {DIRECTORY_ROWS}"),
            RequestFilter::Principal(p) => {
                params.push(SqlParam::Text(id_text(p)));
                format!("kind = $1 AND principal_id = $2 AND {DIRECTORY_ROWS}")
            }
            RequestFilter::CreatedBy(p) => {
                params.push(SqlParam::Text(id_text(p)));
                format!("kind = $1 AND created_by = $2 AND {DIRECTORY_ROWS}")
            }
        };
        list(
            self.pool(),
            "schedule_requests",
            &schema::SCHEDULE_REQUEST,
            Some(Restriction { sql, params }),
            req,
            decode_request,
        )
        .await
    }

    /// Role-assignable groups `member` belongs to (eligibility can be held through them).
    pub async fn role_assignable_groups_of(&self, member: ObjectId) -> StoreResult<Vec<ObjectId>> {
        let rows = sqlx::query(
            "SELECT m.group_id FROM group_members m JOIN directory_groups g ON g.id = m.group_id \
             WHERE m.member_id = $1 AND g.is_assignable_to_role = 1",
        )
        .bind(id_text(member))
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::Db)?;
        rows.iter().map(|r| r.id("group_id")).collect()
    }

    /// Schedules whose recorded status no longer matches the clock (for the tidy-up job).
    pub async fn schedules_due(&self, kind: Kind, now: Instant, limit: u32) -> StoreResult<Vec<Schedule>> {
        let n = micros(now);
        let sql = format!(
            "SELECT * FROM {} WHERE (status = 'Granted' AND start_at <= {n}) \
             OR (status <> 'Expired' AND end_at IS NOT NULL AND end_at <= {n}) LIMIT {limit}",
            table(kind)
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter().map(|r| decode_schedule(r, kind, "id", "principal_id")).collect()
    }

    /// Requests waiting for their start time that has now come.
    pub async fn requests_due(&self, now: Instant, limit: u32) -> StoreResult<Vec<ScheduleRequest>> {
        let sql = format!(
            "SELECT * FROM schedule_requests WHERE status = 'Granted' AND start_at IS NOT NULL AND start_at <= {} LIMIT {limit}",
            micros(now)
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter().map(decode_request).collect()
    }
}

impl WriteTx<'_> {
    /// The first schedule for a principal, role and scope matching `condition` (which may end in
    /// an `ORDER BY`).
    async fn schedule_for(
        &mut self,
        kind: Kind,
        (principal, role, scope): (ObjectId, ObjectId, &Scope),
        condition: &str,
    ) -> StoreResult<Option<Schedule>> {
        let sql = format!(
            "SELECT * FROM {} WHERE principal_id = $1 AND role_definition_id = $2 AND scope_key = $3 \
             AND {condition} LIMIT 1",
            table(kind)
        );
        let row = sqlx::query(&sql)
            .bind(id_text(principal))
            .bind(id_text(role))
            .bind(scope.key())
            .fetch_optional(self.conn())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(|r| decode_schedule(r, kind, "id", "principal_id")).transpose()
    }

    /// The live (not expired) schedule for a principal, role and scope, read inside the write.
    pub async fn live_schedule(
        &mut self,
        kind: Kind,
        principal: ObjectId,
        role: ObjectId,
        scope: &Scope,
    ) -> StoreResult<Option<Schedule>> {
        self.schedule_for(kind, (principal, role, scope), "status <> 'Expired'").await
    }

    /// The live schedule for a principal, role and scope at `now`. One whose end has already
    /// passed is marked expired first (tidy on write, so it no longer blocks a new one) and
    /// returned as the second value.
    pub async fn live_schedule_at(
        &mut self,
        kind: Kind,
        principal: ObjectId,
        role: ObjectId,
        scope: &Scope,
        now: Instant,
    ) -> StoreResult<(Option<Schedule>, Option<Schedule>)> {
        match self.live_schedule(kind, principal, role, scope).await? {
            Some(ended) if ended.has_ended(now) => {
                self.expire_if_ended(&ended, now).await?;
                Ok((None, Some(ended)))
            }
            live => Ok((live, None)),
        }
    }

    /// The most recently ended schedule for a principal, role and scope (for renewals).
    pub async fn latest_expired(
        &mut self,
        kind: Kind,
        principal: ObjectId,
        role: ObjectId,
        scope: &Scope,
    ) -> StoreResult<Option<Schedule>> {
        self.schedule_for(kind, (principal, role, scope), "status = 'Expired' ORDER BY end_at DESC").await
    }

    /// Every schedule of `kind` (live or expired) at `scope`.
    pub async fn schedules_at(&mut self, kind: Kind, scope: &DirectoryScope) -> StoreResult<Vec<Schedule>> {
        let sql = format!("SELECT * FROM {} WHERE scope_key = $1", table(kind));
        let key = Scope::Directory(*scope).key();
        let rows = sqlx::query(&sql).bind(key).fetch_all(self.conn()).await.map_err(StoreError::Db)?;
        rows.iter().map(|r| decode_schedule(r, kind, "id", "principal_id")).collect()
    }

    /// Live eligibilities for `role` at `scope` held by any of `principals` (a user and its
    /// role-assignable groups). On PostgreSQL the rows are share-locked, so an eligibility
    /// removed on another node while an activation is made from it waits for that activation
    /// (and then revokes it) instead of missing it.
    pub async fn eligibilities_of(
        &mut self,
        principals: &[ObjectId],
        role: ObjectId,
        scope: &Scope,
    ) -> StoreResult<Vec<Schedule>> {
        if principals.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the user and all its groups (it runs under the writer lock).
        let holders: Vec<String> = (0..principals.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT * FROM role_eligibilities WHERE principal_id IN ({}) AND role_definition_id = $1 \
             AND scope_key = $2 AND status <> 'Expired'{}",
            holders.join(", "),
            self.lock_rows(true)
        );
        let mut q = sqlx::query(&sql).bind(id_text(role)).bind(scope.key());
        for p in principals {
            q = q.bind(id_text(*p));
        }
        let rows = q.fetch_all(self.conn()).await.map_err(StoreError::Db)?;
        let mut out = rows
            .iter()
            .map(|r| decode_schedule(r, Kind::Eligibility, "id", "principal_id"))
            .collect::<StoreResult<Vec<_>>>()?;
        // In the order of `principals` (the user's own first), as callers expect.
        out.sort_by_key(|e| principals.iter().position(|p| *p == e.principal_id));
        Ok(out)
    }

    /// Role-assignable groups `member` belongs to, read inside the write: eligibility held
    /// through a group is only as good as the membership at the moment of the write. On
    /// PostgreSQL the membership rows are share-locked until commit, so a removal on another
    /// node waits for this write and then revokes what it activated (or, if it removed the
    /// member first, this read no longer sees the membership).
    pub async fn role_assignable_groups_of(&mut self, member: ObjectId) -> StoreResult<Vec<ObjectId>> {
        let lock = if self.lock_rows(true).is_empty() { "" } else { " FOR SHARE OF m" };
        let sql = format!(
            "SELECT m.group_id FROM group_members m JOIN directory_groups g ON g.id = m.group_id \
             WHERE m.member_id = $1 AND g.is_assignable_to_role = 1{lock}"
        );
        let rows = sqlx::query(&sql).bind(id_text(member)).fetch_all(self.conn()).await.map_err(StoreError::Db)?;
        rows.iter().map(|r| r.id("group_id")).collect()
    }

    /// Whether the directory scope exists (an administrative unit, or a user or group), read
    /// inside the write: nothing can be granted at a scope being deleted at the same time.
    pub async fn scope_exists(&mut self, scope: &DirectoryScope) -> StoreResult<bool> {
        let lock = self.lock_rows(true);
        let (tables, id): (&[&str], ObjectId) = match scope {
            DirectoryScope::Tenant => return Ok(true),
            DirectoryScope::AdministrativeUnit(id) => (&["administrative_units"], *id),
            DirectoryScope::Object(id) => (&["users", "directory_groups", "service_principals", "applications"], *id),
        };
        for t in tables {
            let sql = format!("SELECT 1 AS one FROM {t} WHERE id = $1{lock}");
            if sqlx::query(&sql).bind(id_text(id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?.is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// What the directory says about a request's principal, read inside the write.
    pub async fn principal_facts(&mut self, id: ObjectId) -> StoreResult<Option<PrincipalFacts>> {
        let user = format!("SELECT 1 AS one FROM users WHERE id = $1{}", self.lock_rows(true));
        if sqlx::query(&user).bind(id_text(id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?.is_some() {
            return Ok(Some(PrincipalFacts { kind: ObjectKind::User, is_assignable_to_role: false }));
        }
        let group = format!("SELECT is_assignable_to_role FROM directory_groups WHERE id = $1{}", self.lock_rows(true));
        let row = sqlx::query(&group).bind(id_text(id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        if let Some(r) = row {
            let is_assignable_to_role = r.bool("is_assignable_to_role")?;
            return Ok(Some(PrincipalFacts { kind: ObjectKind::Group, is_assignable_to_role }));
        }
        let sp = format!("SELECT 1 AS one FROM service_principals WHERE id = $1{}", self.lock_rows(true));
        let row = sqlx::query(&sp).bind(id_text(id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        Ok(row.map(|_| PrincipalFacts { kind: ObjectKind::ServicePrincipal, is_assignable_to_role: false }))
    }

    /// One schedule request, read (and on PostgreSQL row-locked) inside the write.
    pub async fn request(&mut self, kind: Kind, id: ObjectId) -> StoreResult<Option<ScheduleRequest>> {
        let sql = format!("SELECT * FROM schedule_requests WHERE id = $1 AND kind = $2{}", self.lock_rows(false));
        let row = sqlx::query(&sql)
            .bind(id_text(id))
            .bind(kind_text(kind))
            .fetch_optional(self.conn())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode_request).transpose()
    }

    /// One schedule by id, read (and on PostgreSQL row-locked) inside the write.
    pub async fn schedule(&mut self, kind: Kind, id: ObjectId) -> StoreResult<Option<Schedule>> {
        let sql = format!("SELECT * FROM {} WHERE id = $1{}", table(kind), self.lock_rows(false));
        let row = sqlx::query(&sql).bind(id_text(id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(|r| decode_schedule(r, kind, "id", "principal_id")).transpose()
    }

    /// Marks a schedule whose end has passed as expired (tidy-on-write), so the live-uniqueness
    /// rule lets a new one in. Returns whether it changed anything.
    pub async fn expire_if_ended(&mut self, schedule: &Schedule, now: Instant) -> StoreResult<bool> {
        if schedule.status == ScheduleStatus::Expired || !schedule.has_ended(now) {
            return Ok(false);
        }
        self.set_schedule_status(schedule, ScheduleStatus::Expired, now).await
    }

    /// Moves a schedule to `status` if it is not there yet; idempotent, safe on many nodes.
    pub async fn set_schedule_status(
        &mut self,
        schedule: &Schedule,
        status: ScheduleStatus,
        now: Instant,
    ) -> StoreResult<bool> {
        let sql =
            format!("UPDATE {} SET status = $2, modified_at = $3 WHERE id = $1 AND status <> $2", table(schedule.kind));
        let done = sqlx::query(&sql)
            .bind(id_text(schedule.id))
            .bind(status.as_str())
            .bind(micros(now))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        let changed = done.rows_affected() > 0;
        if changed {
            self.feed(table(schedule.kind), schedule.id, "update");
            if schedule.kind == Kind::Assignment && status == ScheduleStatus::Expired {
                self.index(IndexUpdate::GrantRemoved(schedule.id));
            }
        }
        Ok(changed)
    }

    /// Inserts a schedule; a second live schedule for the same triple is a `Conflict`.
    pub async fn insert_schedule(&mut self, s: &Schedule) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO {} (id, principal_id, principal_type, role_definition_id, directory_scope_id, app_scope_id, \
             status, assignment_type, start_at, end_at, expiration_type, duration, created_using, activated_using, \
             created_at, modified_at, created_by, scope_key) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)",
            table(s.kind)
        );
        sqlx::query(&sql)
            .bind(id_text(s.id))
            .bind(id_text(s.principal_id))
            .bind(s.principal_kind.as_str())
            .bind(id_text(s.role_definition_id))
            .bind(s.scope.to_string())
            .bind(Option::<String>::None)
            .bind(s.status.as_str())
            .bind(s.assignment_type.map(AssignmentType::as_str))
            .bind(micros(s.start))
            .bind(s.end.map(micros))
            .bind(s.expiration_type.as_str())
            .bind(s.duration.map(duration::format))
            .bind(s.created_using.map(id_text))
            .bind(s.activated_using.map(id_text))
            .bind(micros(s.created))
            .bind(micros(s.modified))
            .bind(s.created_by.map(id_text))
            .bind(s.scope.key())
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        if s.kind == Kind::Assignment {
            self.index(IndexUpdate::GrantAdded(s.to_grant()));
        }
        self.feed(table(s.kind), s.id, "add");
        Ok(())
    }

    /// Rewrites a schedule's window and status (update, extend, renew). An eligibility's
    /// activations never outlast it: when its new end comes before theirs they are cut to it,
    /// and those that would not start before it are revoked (as `adminRemove` revokes them).
    /// Returns the ids of the activations it cut or revoked.
    pub async fn replace_schedule(&mut self, s: &Schedule) -> StoreResult<Vec<ObjectId>> {
        let sql = format!(
            "UPDATE {} SET status = $2, start_at = $3, end_at = $4, expiration_type = $5, duration = $6, modified_at = $7 WHERE id = $1",
            table(s.kind)
        );
        sqlx::query(&sql)
            .bind(id_text(s.id))
            .bind(s.status.as_str())
            .bind(micros(s.start))
            .bind(s.end.map(micros))
            .bind(s.expiration_type.as_str())
            .bind(s.duration.map(duration::format))
            .bind(micros(s.modified))
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        if s.kind == Kind::Assignment {
            self.index(IndexUpdate::GrantAdded(s.to_grant()));
        }
        self.feed(table(s.kind), s.id, "update");
        match (s.kind, s.end) {
            (Kind::Eligibility, Some(end)) => self.cut_activations_to(s.id, end, s.modified).await,
            _ => Ok(Vec::new()),
        }
    }

    /// Ends the activations made from `eligibility` no later than `end`.
    async fn cut_activations_to(
        &mut self,
        eligibility: ObjectId,
        end: Instant,
        now: Instant,
    ) -> StoreResult<Vec<ObjectId>> {
        let sql = format!(
            "SELECT * FROM role_assignments WHERE activated_using = $1 AND status <> 'Expired' \
             AND (end_at IS NULL OR end_at > $2){}",
            self.lock_rows(false)
        );
        let rows = sqlx::query(&sql)
            .bind(id_text(eligibility))
            .bind(micros(end))
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::Db)?;
        let outlasting = rows
            .iter()
            .map(|r| decode_schedule(r, Kind::Assignment, "id", "principal_id"))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut changed = Vec::with_capacity(outlasting.len());
        for activation in outlasting {
            if activation.start >= end {
                // It would only begin once the eligibility is over: nothing of it is left.
                self.remove_schedule(&activation).await?;
            } else {
                let cut = Schedule {
                    end: Some(end),
                    expiration_type: ExpirationType::AfterDateTime,
                    duration: None,
                    modified: now,
                    ..activation.clone()
                };
                sqlx::query(
                    "UPDATE role_assignments SET end_at = $2, expiration_type = $3, duration = NULL, modified_at = $4 \
                     WHERE id = $1",
                )
                .bind(id_text(cut.id))
                .bind(micros(end))
                .bind(ExpirationType::AfterDateTime.as_str())
                .bind(micros(now))
                .execute(self.conn())
                .await
                .map_err(StoreError::Db)?;
                self.index(IndexUpdate::GrantAdded(cut.to_grant()));
                self.feed("role_assignments", cut.id, "update");
            }
            changed.push(activation.id);
        }
        Ok(changed)
    }

    /// Deletes a schedule. Removing an eligibility also ends the activations made from it:
    /// once someone is no longer eligible, nothing they activated should keep granting.
    /// Returns the ids of the activations that were revoked with it.
    pub async fn remove_schedule(&mut self, s: &Schedule) -> StoreResult<Vec<ObjectId>> {
        let sql = format!("DELETE FROM {} WHERE id = $1", table(s.kind));
        sqlx::query(&sql).bind(id_text(s.id)).execute(self.conn()).await.map_err(StoreError::Db)?;
        self.feed(table(s.kind), s.id, "delete");
        self.revoke_granted_requests(s.id).await?;
        let mut cascaded = Vec::new();
        if let (Kind::Assignment, Scope::Arm(scope)) = (s.kind, &s.scope) {
            if s.role_definition_id == openpim_core::azure_assignment::OWNER {
                self.note_owner_removal(scope.clone());
            }
        }
        match s.kind {
            Kind::Assignment => self.index(IndexUpdate::GrantRemoved(s.id)),
            Kind::Eligibility => cascaded = self.revoke_activations_from(&[s.id], None).await?,
        }
        Ok(cascaded)
    }

    /// Deletes activations made from any of `eligibilities` (optionally only `holder`'s).
    pub async fn revoke_activations_from(
        &mut self,
        eligibilities: &[ObjectId],
        holder: Option<ObjectId>,
    ) -> StoreResult<Vec<ObjectId>> {
        let mut revoked = Vec::new();
        for e in eligibilities {
            let rows = sqlx::query("SELECT id, principal_id FROM role_assignments WHERE activated_using = $1")
                .bind(id_text(*e))
                .fetch_all(self.conn())
                .await
                .map_err(StoreError::Db)?;
            for r in &rows {
                if holder.is_some_and(|h| r.id("principal_id").ok() != Some(h)) {
                    continue;
                }
                revoked.push(r.id("id")?);
            }
        }
        self.delete_activations(&revoked).await?;
        Ok(revoked)
    }

    /// Deletes the activations `ids` (and revokes their requests still waiting for their start).
    pub(crate) async fn delete_activations(&mut self, ids: &[ObjectId]) -> StoreResult<()> {
        for id in ids {
            sqlx::query("DELETE FROM role_assignments WHERE id = $1")
                .bind(id_text(*id))
                .execute(self.conn())
                .await
                .map_err(StoreError::Db)?;
            self.index(IndexUpdate::GrantRemoved(*id));
            self.feed("role_assignments", id, "delete");
            self.revoke_granted_requests(*id).await?;
        }
        Ok(())
    }

    /// A request still waiting for its start (`Granted`) whose schedule was removed will never
    /// be provisioned: mark it `Revoked` so the tidy-up job does not provision it later.
    async fn revoke_granted_requests(&mut self, schedule: ObjectId) -> StoreResult<()> {
        let rows = sqlx::query("SELECT id FROM schedule_requests WHERE target_schedule_id = $1 AND status = 'Granted'")
            .bind(id_text(schedule))
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::Db)?;
        for r in &rows {
            let id = r.id("id")?;
            self.transition_request(id, RequestStatus::Granted, RequestStatus::Revoked, None).await?;
        }
        Ok(())
    }

    /// Live eligibility ids held by `group` (to end a leaving member's activations).
    pub async fn eligibility_ids_of(&mut self, principal: ObjectId) -> StoreResult<Vec<ObjectId>> {
        let rows = sqlx::query("SELECT id FROM role_eligibilities WHERE principal_id = $1")
            .bind(id_text(principal))
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::Db)?;
        rows.iter().map(|r| r.id("id")).collect()
    }

    pub async fn insert_request(&mut self, r: &ScheduleRequest) -> StoreResult<()> {
        let s = r.schedule.as_ref();
        sqlx::query(
            "INSERT INTO schedule_requests (id, kind, action, principal_id, role_definition_id, directory_scope_id, \
             justification, start_at, expiration_type, end_at, duration, ticket_number, ticket_system, status, \
             created_at, completed_at, created_by, target_schedule_id, approval_id, custom_data, scope_key) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)",
        )
        .bind(id_text(r.id))
        .bind(kind_text(r.kind))
        .bind(r.action.as_str())
        .bind(id_text(r.principal_id))
        .bind(id_text(r.role_definition_id))
        .bind(r.scope.to_string())
        .bind(r.justification.clone())
        .bind(s.and_then(|s| s.start).map(micros))
        .bind(s.map(|s| s.expiration.kind.as_str()))
        .bind(s.and_then(|s| s.expiration.end).map(micros))
        .bind(s.and_then(|s| s.expiration.duration).map(duration::format))
        .bind(r.ticket.number.clone())
        .bind(r.ticket.system.clone())
        .bind(r.status.as_str())
        .bind(micros(r.created))
        .bind(r.completed.map(micros))
        .bind(id_text(r.created_by))
        .bind(r.target_schedule_id.map(id_text))
        .bind(r.approval_id.clone())
        .bind(r.custom_data.clone())
        .bind(r.scope.key())
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("schedule_requests", r.id, "add");
        Ok(())
    }

    /// Closes the principal's pending `selfExtend`/`selfRenew` requests (`self_action`) for a role
    /// and scope once an admin's `adminExtend`/`adminRenew` has done what they asked.
    /// Returns how many it closed.
    pub async fn complete_pending_self_requests(
        &mut self,
        kind: Kind,
        (principal, role, scope): (ObjectId, ObjectId, &Scope),
        self_action: openpim_core::schedule::Action,
        now: Instant,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE schedule_requests SET status = 'Provisioned', completed_at = $6 WHERE kind = $1 AND principal_id = $2 \
             AND role_definition_id = $3 AND scope_key = $4 AND action = $5 AND status = 'PendingAdminDecision'",
        )
        .bind(kind_text(kind))
        .bind(id_text(principal))
        .bind(id_text(role))
        .bind(scope.key())
        .bind(self_action.as_str())
        .bind(micros(now))
        .execute(self.conn())
        .await
        .map_err(StoreError::Db)?;
        if done.rows_affected() > 0 {
            self.feed("schedule_requests", principal, "update");
        }
        Ok(done.rows_affected())
    }

    /// Moves a request from `from` to `to`; false when it was no longer in `from` (idempotent).
    pub async fn transition_request(
        &mut self,
        id: ObjectId,
        from: RequestStatus,
        to: RequestStatus,
        completed: Option<Instant>,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE schedule_requests SET status = $3, completed_at = $4 WHERE id = $1 AND status = $2")
                .bind(id_text(id))
                .bind(from.as_str())
                .bind(to.as_str())
                .bind(completed.map(micros))
                .execute(self.conn())
                .await
                .map_err(StoreError::Db)?;
        let changed = done.rows_affected() > 0;
        if changed {
            self.feed("schedule_requests", id, "update");
        }
        Ok(changed)
    }
}
