//! Users, groups, administrative units and memberships.

use crate::codec::{flag, id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page, Restriction};
use crate::{schema, Store, StoreError, StoreResult, WriteTx};
use openpim_core::applications::{Application, ServicePrincipal};
use openpim_core::change::IndexUpdate;
use openpim_core::directory::{AdministrativeUnit, Group, ObjectKind, User, UserType};
use openpim_core::schedule::Kind;
use openpim_core::scope::DirectoryScope;
use openpim_core::{Instant, ObjectId};
use openpim_odata::SqlParam;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

fn decode_user(r: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: r.id("id")?,
        user_principal_name: r.text("user_principal_name")?,
        display_name: r.text("display_name")?,
        mail_nickname: r.text("mail_nickname")?,
        given_name: r.opt_text("given_name")?,
        surname: r.opt_text("surname")?,
        mail: r.opt_text("mail")?,
        job_title: r.opt_text("job_title")?,
        department: r.opt_text("department")?,
        account_enabled: r.bool("account_enabled")?,
        user_type: {
            let raw = r.text("user_type")?;
            raw.parse::<UserType>().map_err(|_| StoreError::Corrupt(format!("users.user_type '{raw}'")))?
        },
        im_addresses: {
            let raw = r.text("im_addresses")?;
            serde_json::from_str(&raw).map_err(|_| StoreError::Corrupt(format!("users.im_addresses '{raw}'")))?
        },
        created: r.time("created_at")?,
    })
}

/// `imAddresses` as stored: a JSON array of strings.
fn im_addresses_json(u: &User) -> String {
    serde_json::Value::from(u.im_addresses.clone()).to_string()
}

fn decode_group(r: &AnyRow) -> StoreResult<Group> {
    Ok(Group {
        id: r.id("id")?,
        display_name: r.text("display_name")?,
        description: r.opt_text("description")?,
        mail_nickname: r.text("mail_nickname")?,
        mail_enabled: r.bool("mail_enabled")?,
        security_enabled: r.bool("security_enabled")?,
        is_assignable_to_role: r.bool("is_assignable_to_role")?,
        unified: r.bool("is_unified")?,
        created: r.time("created_at")?,
    })
}

fn decode_unit(r: &AnyRow) -> StoreResult<AdministrativeUnit> {
    Ok(AdministrativeUnit {
        id: r.id("id")?,
        display_name: r.text("display_name")?,
        description: r.opt_text("description")?,
        created: r.time("created_at")?,
    })
}

/// Any object a membership or an assignment can point at.
#[derive(Debug, Clone, PartialEq)]
pub enum DirectoryObject {
    User(User),
    Group(Group),
    ServicePrincipal(ServicePrincipal),
}

impl DirectoryObject {
    pub fn id(&self) -> ObjectId {
        match self {
            Self::User(u) => u.id,
            Self::Group(g) => g.id,
            Self::ServicePrincipal(sp) => sp.id,
        }
    }
    pub fn kind(&self) -> ObjectKind {
        match self {
            Self::User(_) => ObjectKind::User,
            Self::Group(_) => ObjectKind::Group,
            Self::ServicePrincipal(_) => ObjectKind::ServicePrincipal,
        }
    }
}

/// The object a `/{objectId}` scope names: applications are scopes but never principals.
#[derive(Debug, Clone, PartialEq)]
pub enum ScopeObject {
    Principal(DirectoryObject),
    Application(Application),
}

async fn one<'e, E, T>(e: E, sql: &str, id: String, decode: fn(&AnyRow) -> StoreResult<T>) -> StoreResult<Option<T>>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(sql).bind(id).fetch_optional(e).await.map_err(StoreError::Db)?;
    row.as_ref().map(decode).transpose()
}

/// Members of a group or unit: ids in order of joining, paged like any list.
async fn member_page(
    store: &Store,
    table: &str,
    owner_column: &str,
    owner: ObjectId,
    req: &ListRequest<'_>,
) -> StoreResult<Page<DirectoryObject>> {
    if req.filter.is_some() || !req.orderby.is_empty() {
        return Err(StoreError::Query(openpim_odata::ODataError::bad_request(
            "$filter and $orderby are not supported on member collections.",
        )));
    }
    let sql = format!(
        "SELECT member_id FROM {table} WHERE {owner_column} = $1 ORDER BY added_at, member_id LIMIT {} OFFSET {}",
        req.top as u64 + 1,
        req.offset
    );
    let rows = sqlx::query(&sql).bind(id_text(owner)).fetch_all(store.pool()).await.map_err(StoreError::Db)?;
    let has_more = rows.len() > req.top;
    let mut items = Vec::new();
    for row in rows.iter().take(req.top) {
        if let Some(obj) = store.find_object(row.id("member_id")?).await? {
            items.push(obj);
        }
    }
    let count = if req.count {
        let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {owner_column} = $1");
        let row = sqlx::query(&sql).bind(id_text(owner)).fetch_one(store.pool()).await.map_err(StoreError::Db)?;
        Some(row.int("n")? as u64)
    } else {
        None
    };
    Ok(Page { items, has_more, count })
}

impl Store {
    pub async fn get_user(&self, id: ObjectId) -> StoreResult<Option<User>> {
        one(self.pool(), "SELECT * FROM users WHERE id = $1", id_text(id), decode_user).await
    }

    /// Looks a user up by UPN, case-insensitively.
    pub async fn get_user_by_upn(&self, upn: &str) -> StoreResult<Option<User>> {
        one(self.pool(), "SELECT * FROM users WHERE upn_lower = $1", upn.to_lowercase(), decode_user).await
    }

    pub async fn list_users(&self, req: &ListRequest<'_>) -> StoreResult<Page<User>> {
        list(self.pool(), "users", &schema::USER, None, req, decode_user).await
    }

    pub async fn get_group(&self, id: ObjectId) -> StoreResult<Option<Group>> {
        one(self.pool(), "SELECT * FROM directory_groups WHERE id = $1", id_text(id), decode_group).await
    }

    pub async fn list_groups(&self, req: &ListRequest<'_>) -> StoreResult<Page<Group>> {
        list(self.pool(), "directory_groups", &schema::GROUP, None, req, decode_group).await
    }

    pub async fn list_group_members(
        &self,
        group: ObjectId,
        req: &ListRequest<'_>,
    ) -> StoreResult<Page<DirectoryObject>> {
        member_page(self, "group_members", "group_id", group, req).await
    }

    /// Groups `member` belongs to directly (for `memberOf`).
    pub async fn list_member_of(&self, member: ObjectId, req: &ListRequest<'_>) -> StoreResult<Page<Group>> {
        let restriction = Restriction {
            sql: "id IN (SELECT group_id FROM group_members WHERE member_id = $1)".into(),
            params: vec![SqlParam::Text(id_text(member))],
        };
        list(self.pool(), "directory_groups", &schema::GROUP, Some(restriction), req, decode_group).await
    }

    pub async fn is_group_member(&self, group: ObjectId, member: ObjectId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM group_members WHERE group_id = $1 AND member_id = $2")
            .bind(id_text(group))
            .bind(id_text(member))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        Ok(row.is_some())
    }

    pub async fn get_administrative_unit(&self, id: ObjectId) -> StoreResult<Option<AdministrativeUnit>> {
        one(self.pool(), "SELECT * FROM administrative_units WHERE id = $1", id_text(id), decode_unit).await
    }

    pub async fn list_administrative_units(&self, req: &ListRequest<'_>) -> StoreResult<Page<AdministrativeUnit>> {
        list(self.pool(), "administrative_units", &schema::ADMINISTRATIVE_UNIT, None, req, decode_unit).await
    }

    pub async fn list_unit_members(&self, unit: ObjectId, req: &ListRequest<'_>) -> StoreResult<Page<DirectoryObject>> {
        member_page(self, "administrative_unit_members", "unit_id", unit, req).await
    }

    /// The administrative units `member` belongs to: the scopes an admin may act on it through.
    pub async fn units_of(&self, member: ObjectId) -> StoreResult<Vec<ObjectId>> {
        let rows = sqlx::query("SELECT unit_id FROM administrative_unit_members WHERE member_id = $1")
            .bind(id_text(member))
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::Db)?;
        rows.iter().map(|r| r.id("unit_id")).collect()
    }

    /// Finds a principal (a user, group or service principal) by id.
    pub async fn find_object(&self, id: ObjectId) -> StoreResult<Option<DirectoryObject>> {
        if let Some(u) = self.get_user(id).await? {
            return Ok(Some(DirectoryObject::User(u)));
        }
        if let Some(g) = self.get_group(id).await? {
            return Ok(Some(DirectoryObject::Group(g)));
        }
        Ok(self.get_service_principal(id).await?.map(DirectoryObject::ServicePrincipal))
    }

    /// Finds what a `/{objectId}` directory scope names: a principal or an application.
    pub async fn find_scope_object(&self, id: ObjectId) -> StoreResult<Option<ScopeObject>> {
        if let Some(o) = self.find_object(id).await? {
            return Ok(Some(ScopeObject::Principal(o)));
        }
        Ok(self.get_application(id).await?.map(ScopeObject::Application))
    }
}

impl WriteTx<'_> {
    /// One row of `table` by id, read inside the write and on PostgreSQL locked until commit:
    /// `FOR UPDATE` for the row the write changes, `FOR SHARE` for a fact it depends on.
    pub(crate) async fn row_in_write<T>(
        &mut self,
        table: &str,
        id: ObjectId,
        share: bool,
        decode: fn(&AnyRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let sql = format!("SELECT * FROM {table} WHERE id = $1{}", self.lock_rows(share));
        one(self.conn(), &sql, id_text(id), decode).await
    }

    /// A user, read (and on PostgreSQL row-locked) inside the write, for read-modify-write
    /// updates that must not lose a concurrent change.
    pub async fn user_for_update(&mut self, id: ObjectId) -> StoreResult<Option<User>> {
        self.row_in_write("users", id, false, decode_user).await
    }

    /// Whether another user already has `upn` (case-insensitively), read inside the write; the
    /// unique index still catches a twin committed on another node meanwhile.
    pub async fn upn_taken(&mut self, upn: &str) -> StoreResult<bool> {
        let sql = format!("SELECT 1 AS one FROM users WHERE upn_lower = $1{}", self.lock_rows(true));
        let row =
            sqlx::query(&sql).bind(upn.to_lowercase()).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        Ok(row.is_some())
    }

    /// A group, read (and on PostgreSQL row-locked) inside the write.
    pub async fn group_for_update(&mut self, id: ObjectId) -> StoreResult<Option<Group>> {
        self.row_in_write("directory_groups", id, false, decode_group).await
    }

    /// An administrative unit, read (and on PostgreSQL row-locked) inside the write.
    pub async fn unit_for_update(&mut self, id: ObjectId) -> StoreResult<Option<AdministrativeUnit>> {
        self.row_in_write("administrative_units", id, false, decode_unit).await
    }

    /// The principal (user, group or service principal) `id`, read inside the write and on
    /// PostgreSQL share-locked: a member being added cannot be deleted before the write commits.
    pub async fn object_in_write(&mut self, id: ObjectId) -> StoreResult<Option<DirectoryObject>> {
        if let Some(u) = self.row_in_write("users", id, true, decode_user).await? {
            return Ok(Some(DirectoryObject::User(u)));
        }
        if let Some(g) = self.row_in_write("directory_groups", id, true, decode_group).await? {
            return Ok(Some(DirectoryObject::Group(g)));
        }
        let sp =
            self.row_in_write("service_principals", id, true, crate::applications::decode_service_principal).await?;
        Ok(sp.map(DirectoryObject::ServicePrincipal))
    }

    pub async fn insert_user(&mut self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, user_principal_name, upn_lower, display_name, mail_nickname, given_name, \
             surname, mail, job_title, department, account_enabled, created_at, user_type, im_addresses) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
        )
        .bind(id_text(u.id))
        .bind(u.user_principal_name.clone())
        .bind(u.user_principal_name.to_lowercase())
        .bind(u.display_name.clone())
        .bind(u.mail_nickname.clone())
        .bind(u.given_name.clone())
        .bind(u.surname.clone())
        .bind(u.mail.clone())
        .bind(u.job_title.clone())
        .bind(u.department.clone())
        .bind(flag(u.account_enabled))
        .bind(micros(u.created))
        .bind(u.user_type.as_str())
        .bind(im_addresses_json(u))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("user", u.id, "add");
        Ok(())
    }

    pub async fn update_user(&mut self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET user_principal_name=$2, upn_lower=$3, display_name=$4, mail_nickname=$5, \
             given_name=$6, surname=$7, mail=$8, job_title=$9, department=$10, account_enabled=$11, \
             user_type=$12, im_addresses=$13 WHERE id=$1",
        )
        .bind(id_text(u.id))
        .bind(u.user_principal_name.clone())
        .bind(u.user_principal_name.to_lowercase())
        .bind(u.display_name.clone())
        .bind(u.mail_nickname.clone())
        .bind(u.given_name.clone())
        .bind(u.surname.clone())
        .bind(u.mail.clone())
        .bind(u.job_title.clone())
        .bind(u.department.clone())
        .bind(flag(u.account_enabled))
        .bind(u.user_type.as_str())
        .bind(im_addresses_json(u))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("user", u.id, "update");
        Ok(())
    }

    /// Deletes a principal's memberships, eligibilities and role assignments (shared by user and
    /// group deletion), and ends the activations others made from its eligibilities.
    pub(crate) async fn delete_principal_links(&mut self, id: ObjectId, now: Instant) -> StoreResult<()> {
        let eligibilities = self.eligibility_ids_of(id).await?;
        self.revoke_activations_from(&eligibilities, None).await?;
        // What the principal still had waiting ends with it: a future-dated grant would otherwise
        // be provisioned for nobody, and an approver would be asked about a deleted requester.
        sqlx::query(
            "UPDATE approvals SET status = 'Canceled' WHERE status = 'Pending' AND request_id IN \
             (SELECT id FROM schedule_requests WHERE principal_id = $1 AND status = 'PendingApproval')",
        )
        .bind(id_text(id))
        .execute(self.conn())
        .await
        .map_err(StoreError::Db)?;
        sqlx::query(
            "UPDATE schedule_requests SET status = 'Revoked', completed_at = $2 WHERE principal_id = $1 \
             AND status IN ('Granted', 'PendingApproval', 'PendingAdminDecision')",
        )
        .bind(id_text(id))
        .bind(micros(now))
        .execute(self.conn())
        .await
        .map_err(StoreError::Db)?;
        for sql in [
            "DELETE FROM role_eligibilities WHERE principal_id = $1",
            "DELETE FROM group_members WHERE member_id = $1",
            "DELETE FROM administrative_unit_members WHERE member_id = $1",
            "DELETE FROM role_assignments WHERE principal_id = $1",
        ] {
            sqlx::query(sql).bind(id_text(id)).execute(self.conn()).await.map_err(StoreError::Db)?;
        }
        Ok(())
    }

    /// Deletes a user with everything it holds (see `delete_principal_links`) and every
    /// assignment and eligibility scoped to it (`/{id}`).
    pub async fn delete_user(&mut self, id: ObjectId, now: Instant) -> StoreResult<()> {
        self.delete_principal_links(id, now).await?;
        self.remove_schedules_at(&DirectoryScope::Object(id)).await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id_text(id))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        self.index(IndexUpdate::PrincipalDeleted(id));
        self.feed("user", id, "delete");
        Ok(())
    }

    pub async fn insert_group(&mut self, g: &Group) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO directory_groups (id, display_name, description, mail_nickname, mail_enabled, \
             security_enabled, is_assignable_to_role, is_unified, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        )
        .bind(id_text(g.id))
        .bind(g.display_name.clone())
        .bind(g.description.clone())
        .bind(g.mail_nickname.clone())
        .bind(flag(g.mail_enabled))
        .bind(flag(g.security_enabled))
        .bind(flag(g.is_assignable_to_role))
        .bind(flag(g.unified))
        .bind(micros(g.created))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.index(IndexUpdate::GroupSaved {
            group_id: g.id,
            is_assignable_to_role: g.is_assignable_to_role,
            is_security_enabled: g.security_enabled,
        });
        self.feed("group", g.id, "add");
        Ok(())
    }

    pub async fn update_group(&mut self, g: &Group) -> StoreResult<()> {
        sqlx::query(
            "UPDATE directory_groups SET display_name=$2, description=$3, mail_nickname=$4, mail_enabled=$5, \
             security_enabled=$6 WHERE id=$1",
        )
        .bind(id_text(g.id))
        .bind(g.display_name.clone())
        .bind(g.description.clone())
        .bind(g.mail_nickname.clone())
        .bind(flag(g.mail_enabled))
        .bind(flag(g.security_enabled))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        // securityEnabled decides whether the group passes Azure roles on to its members.
        self.index(IndexUpdate::GroupSaved {
            group_id: g.id,
            is_assignable_to_role: g.is_assignable_to_role,
            is_security_enabled: g.security_enabled,
        });
        self.feed("group", g.id, "update");
        Ok(())
    }

    /// Deletes a group with its memberships, what it holds (see `delete_principal_links`) and
    /// every assignment and eligibility scoped to it (`/{id}`).
    pub async fn delete_group(&mut self, id: ObjectId, now: Instant) -> StoreResult<()> {
        self.delete_principal_links(id, now).await?;
        self.remove_schedules_at(&DirectoryScope::Object(id)).await?;
        sqlx::query("DELETE FROM group_members WHERE group_id = $1")
            .bind(id_text(id))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        sqlx::query("DELETE FROM directory_groups WHERE id = $1")
            .bind(id_text(id))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        self.index(IndexUpdate::GroupDeleted(id));
        self.feed("group", id, "delete");
        Ok(())
    }

    /// Adds a member; `Conflict` when it is already there.
    pub async fn add_group_member(
        &mut self,
        group: ObjectId,
        member: ObjectId,
        kind: ObjectKind,
        now: openpim_core::Instant,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO group_members (group_id, member_id, member_type, added_at) VALUES ($1,$2,$3,$4)")
            .bind(id_text(group))
            .bind(id_text(member))
            .bind(kind.as_str())
            .bind(micros(now))
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.index(IndexUpdate::MemberAdded { group_id: group, member_id: member });
        self.feed("groupMember", format!("{group}/{member}"), "add");
        Ok(())
    }

    /// Removes a member; returns false when it was not a member.
    pub async fn remove_group_member(&mut self, group: ObjectId, member: ObjectId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND member_id = $2")
            .bind(id_text(group))
            .bind(id_text(member))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        self.index(IndexUpdate::MemberRemoved { group_id: group, member_id: member });
        self.feed("groupMember", format!("{group}/{member}"), "delete");
        Ok(true)
    }

    pub async fn insert_administrative_unit(&mut self, u: &AdministrativeUnit) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO administrative_units (id, display_name, description, created_at) VALUES ($1,$2,$3,$4)",
        )
        .bind(id_text(u.id))
        .bind(u.display_name.clone())
        .bind(u.description.clone())
        .bind(micros(u.created))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("administrativeUnit", u.id, "add");
        Ok(())
    }

    pub async fn update_administrative_unit(&mut self, u: &AdministrativeUnit) -> StoreResult<()> {
        sqlx::query("UPDATE administrative_units SET display_name = $2, description = $3 WHERE id = $1")
            .bind(id_text(u.id))
            .bind(u.display_name.clone())
            .bind(u.description.clone())
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed("administrativeUnit", u.id, "update");
        Ok(())
    }

    /// Deletes a unit with its memberships and every assignment and eligibility scoped to it,
    /// through the one removal path (index, change feed, pending requests, derived activations).
    /// Returns how many schedules went with it.
    pub async fn delete_administrative_unit(&mut self, id: ObjectId) -> StoreResult<usize> {
        let removed = self.remove_schedules_at(&DirectoryScope::AdministrativeUnit(id)).await?;
        for sql in [
            "DELETE FROM administrative_unit_members WHERE unit_id = $1",
            "DELETE FROM administrative_units WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id_text(id)).execute(self.conn()).await.map_err(StoreError::Db)?;
        }
        self.feed("administrativeUnit", id, "delete");
        Ok(removed)
    }

    /// Removes every eligibility and assignment at `scope` through the one removal path (index,
    /// change feed, pending requests, derived activations), for a scope that is going away.
    /// Returns how many schedules went.
    pub(crate) async fn remove_schedules_at(&mut self, scope: &DirectoryScope) -> StoreResult<usize> {
        let mut removed = 0;
        // Eligibilities first: removing one also ends the activations made from it.
        for kind in [Kind::Eligibility, Kind::Assignment] {
            for schedule in self.schedules_at(kind, scope).await? {
                self.remove_schedule(&schedule).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub async fn add_unit_member(
        &mut self,
        unit: ObjectId,
        member: ObjectId,
        kind: ObjectKind,
        now: openpim_core::Instant,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO administrative_unit_members (unit_id, member_id, member_type, added_at) VALUES ($1,$2,$3,$4)",
        )
        .bind(id_text(unit))
        .bind(id_text(member))
        .bind(kind.as_str())
        .bind(micros(now))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("administrativeUnitMember", format!("{unit}/{member}"), "add");
        Ok(())
    }

    pub async fn remove_unit_member(&mut self, unit: ObjectId, member: ObjectId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM administrative_unit_members WHERE unit_id = $1 AND member_id = $2")
            .bind(id_text(unit))
            .bind(id_text(member))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        if done.rows_affected() > 0 {
            self.feed("administrativeUnitMember", format!("{unit}/{member}"), "delete");
        }
        Ok(done.rows_affected() > 0)
    }

    pub async fn insert_tenant(&mut self, id: ObjectId, now: openpim_core::Instant) -> StoreResult<()> {
        sqlx::query("INSERT INTO tenant (id, created_at) VALUES ($1, $2)")
            .bind(id_text(id))
            .bind(micros(now))
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed("tenant", id, "add");
        Ok(())
    }
}
