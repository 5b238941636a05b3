//! Applications and service principals.

use crate::codec::{flag, id_text, micros, RowExt};
use crate::list::{list, ListRequest, Page};
use crate::{schema, Store, StoreError, StoreResult, WriteTx};
use openpim_core::applications::{Application, ServicePrincipal};
use openpim_core::change::IndexUpdate;
use openpim_core::scope::DirectoryScope;
use openpim_core::{Instant, ObjectId};
use sqlx::any::AnyRow;

pub(crate) fn decode_application(r: &AnyRow) -> StoreResult<Application> {
    Ok(Application {
        id: r.id("id")?,
        app_id: r.id("app_id")?,
        display_name: r.text("display_name")?,
        description: r.opt_text("description")?,
        created: r.time("created_at")?,
    })
}

pub(crate) fn decode_service_principal(r: &AnyRow) -> StoreResult<ServicePrincipal> {
    Ok(ServicePrincipal {
        id: r.id("id")?,
        app_id: r.id("app_id")?,
        app_display_name: r.opt_text("app_display_name")?,
        display_name: r.text("display_name")?,
        description: r.opt_text("description")?,
        service_principal_type: r.text("service_principal_type")?,
        account_enabled: r.bool("account_enabled")?,
        created: r.time("created_at")?,
    })
}

impl Store {
    async fn one<T>(&self, sql: &str, key: ObjectId, decode: fn(&AnyRow) -> StoreResult<T>) -> StoreResult<Option<T>> {
        let row = sqlx::query(sql).bind(id_text(key)).fetch_optional(self.pool()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }

    pub async fn get_application(&self, id: ObjectId) -> StoreResult<Option<Application>> {
        self.one("SELECT * FROM applications WHERE id = $1", id, decode_application).await
    }

    pub async fn get_application_by_app_id(&self, app_id: ObjectId) -> StoreResult<Option<Application>> {
        self.one("SELECT * FROM applications WHERE app_id = $1", app_id, decode_application).await
    }

    pub async fn list_applications(&self, req: &ListRequest<'_>) -> StoreResult<Page<Application>> {
        list(self.pool(), "applications", &schema::APPLICATION, None, req, decode_application).await
    }

    pub async fn get_service_principal(&self, id: ObjectId) -> StoreResult<Option<ServicePrincipal>> {
        self.one("SELECT * FROM service_principals WHERE id = $1", id, decode_service_principal).await
    }

    pub async fn get_service_principal_by_app_id(&self, app_id: ObjectId) -> StoreResult<Option<ServicePrincipal>> {
        self.one("SELECT * FROM service_principals WHERE app_id = $1", app_id, decode_service_principal).await
    }

    pub async fn list_service_principals(&self, req: &ListRequest<'_>) -> StoreResult<Page<ServicePrincipal>> {
        list(self.pool(), "service_principals", &schema::SERVICE_PRINCIPAL, None, req, decode_service_principal).await
    }
}

impl WriteTx<'_> {
    /// An application, read (and on PostgreSQL row-locked) inside the write.
    pub async fn application_for_update(&mut self, id: ObjectId) -> StoreResult<Option<Application>> {
        self.row_in_write("applications", id, false, decode_application).await
    }

    /// A service principal, read (and on PostgreSQL row-locked) inside the write.
    pub async fn service_principal_for_update(&mut self, id: ObjectId) -> StoreResult<Option<ServicePrincipal>> {
        self.row_in_write("service_principals", id, false, decode_service_principal).await
    }

    /// The application with `app_id`, read inside the write and on PostgreSQL share-locked, so
    /// it cannot be deleted before a service principal made for it commits.
    pub async fn application_by_app_id(&mut self, app_id: ObjectId) -> StoreResult<Option<Application>> {
        let sql = format!("SELECT * FROM applications WHERE app_id = $1{}", self.lock_rows(true));
        let row = sqlx::query(&sql).bind(id_text(app_id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_application).transpose()
    }

    /// The service principal of the application `app_id`, read inside the write (and locked on
    /// PostgreSQL): deleting an application deletes it too.
    pub async fn service_principal_by_app_id(&mut self, app_id: ObjectId) -> StoreResult<Option<ServicePrincipal>> {
        let sql = format!("SELECT * FROM service_principals WHERE app_id = $1{}", self.lock_rows(false));
        let row = sqlx::query(&sql).bind(id_text(app_id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode_service_principal).transpose()
    }

    pub async fn insert_application(&mut self, a: &Application) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO applications (id, app_id, display_name, description, created_at) VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(id_text(a.id))
        .bind(id_text(a.app_id))
        .bind(a.display_name.clone())
        .bind(a.description.clone())
        .bind(micros(a.created))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("application", a.id, "add");
        Ok(())
    }

    pub async fn update_application(&mut self, a: &Application) -> StoreResult<()> {
        sqlx::query("UPDATE applications SET display_name = $2, description = $3 WHERE id = $1")
            .bind(id_text(a.id))
            .bind(a.display_name.clone())
            .bind(a.description.clone())
            .execute(self.conn())
            .await
            .map_err(StoreError::from_write)?;
        self.feed("application", a.id, "update");
        Ok(())
    }

    /// Deletes an application with its service principal (which loses everything it holds) and
    /// every assignment and eligibility scoped to the application. Returns how many schedules
    /// scoped to the application went with it.
    pub async fn delete_application(&mut self, app: &Application, now: Instant) -> StoreResult<usize> {
        if let Some(sp) = self.service_principal_by_app_id(app.app_id).await? {
            self.delete_service_principal(sp.id, now).await?;
        }
        let removed = self.remove_schedules_at(&DirectoryScope::Object(app.id)).await?;
        sqlx::query("DELETE FROM applications WHERE id = $1")
            .bind(id_text(app.id))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        self.feed("application", app.id, "delete");
        Ok(removed)
    }

    /// `Conflict` when the application already has a service principal (unique `app_id`).
    pub async fn insert_service_principal(&mut self, sp: &ServicePrincipal) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO service_principals (id, app_id, app_display_name, display_name, description, \
             service_principal_type, account_enabled, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(id_text(sp.id))
        .bind(id_text(sp.app_id))
        .bind(sp.app_display_name.clone())
        .bind(sp.display_name.clone())
        .bind(sp.description.clone())
        .bind(sp.service_principal_type.clone())
        .bind(flag(sp.account_enabled))
        .bind(micros(sp.created))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("servicePrincipal", sp.id, "add");
        Ok(())
    }

    pub async fn update_service_principal(&mut self, sp: &ServicePrincipal) -> StoreResult<()> {
        sqlx::query(
            "UPDATE service_principals SET display_name = $2, description = $3, account_enabled = $4 WHERE id = $1",
        )
        .bind(id_text(sp.id))
        .bind(sp.display_name.clone())
        .bind(sp.description.clone())
        .bind(flag(sp.account_enabled))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("servicePrincipal", sp.id, "update");
        Ok(())
    }

    /// Deletes a service principal the way a user is deleted: its memberships, eligibilities,
    /// assignments and pending requests go, and the index drops everything it held. Schedules
    /// scoped to the service principal (`/{id}`) go too.
    pub async fn delete_service_principal(&mut self, id: ObjectId, now: Instant) -> StoreResult<()> {
        self.delete_principal_links(id, now).await?;
        self.remove_schedules_at(&DirectoryScope::Object(id)).await?;
        sqlx::query("DELETE FROM service_principals WHERE id = $1")
            .bind(id_text(id))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        self.index(IndexUpdate::PrincipalDeleted(id));
        self.feed("servicePrincipal", id, "delete");
        Ok(())
    }
}
