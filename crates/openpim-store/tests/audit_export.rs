//! The audit log's export read and its write-path enrichment: a snapshot paged by offsets sees
//! every record once while others are written, and stored records name what they identify.

use openpim_core::audit::{detail, AuditRecord, AuditResult, AuditTarget};
use openpim_odata::OrderBy;
use openpim_store::{ListRequest, Store};
use std::collections::HashSet;

fn record(at: time::OffsetDateTime) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::new_v4(),
        at,
        category: "RoleManagement",
        activity: "Add member to role".into(),
        operation_type: "Assign",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: vec![],
        additional_details: vec![],
        correlation_id: uuid::Uuid::new_v4(),
    }
}

/// A store on SQLite, or on PostgreSQL (a schema of its own) when `OPENPIM_TEST_POSTGRES_URL` is set.
struct TestStore {
    store: Store,
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestStore {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("OPENPIM_TEST_POSTGRES_URL") {
            Ok(base) => {
                let (schema, url) = openpim_store::testing::create_postgres_schema(&base).await.unwrap();
                let store = Store::connect(&url).await.unwrap();
                TestStore { store, postgres: Some((base, schema)), _dir: dir }
            }
            Err(_) => TestStore { store: Store::open_sqlite_dir(dir.path()).await.unwrap(), postgres: None, _dir: dir },
        }
    }

    async fn finish(self) {
        drop(self.store);
        if let Some((base, schema)) = self.postgres {
            openpim_store::testing::drop_postgres_schema(&base, &schema).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_snapshot_pages_every_record_once_while_others_are_written() {
    let ts = TestStore::new().await;
    let store = &ts.store;
    {
        let t0 = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let mut before = HashSet::new();
        for i in 0..5 {
            let r = record(t0 + time::Duration::seconds(i));
            before.insert(r.id);
            store.record_audit(&r, |_| {}).await.unwrap();
        }
        let newest_first = [OrderBy { prop: "activityDateTime".into(), descending: true }];
        let page = |offset| ListRequest { filter: None, orderby: &newest_first, top: 2, offset, count: false };

        let mut snapshot = store.audit_snapshot().await.unwrap();
        let mut seen = Vec::new();
        let first = snapshot.page(&page(0)).await.unwrap();
        seen.extend(first.items.iter().map(|a| a.record.id));
        // Newer records arrive between pages: without a snapshot they would shift the offsets
        // and repeat records already read.
        for i in 10..13 {
            store.record_audit(&record(t0 + time::Duration::seconds(i)), |_| {}).await.unwrap();
        }
        let mut more = first.has_more;
        while more {
            let next = snapshot.page(&page(seen.len() as u64)).await.unwrap();
            seen.extend(next.items.iter().map(|a| a.record.id));
            more = next.has_more;
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert_eq!(seen.iter().copied().collect::<HashSet<_>>(), before);
        drop(snapshot);
        // A new export sees them all.
        let mut fresh = store.audit_snapshot().await.unwrap();
        let all = fresh.page(&ListRequest { top: 100, ..page(0) }).await.unwrap();
        assert_eq!(all.items.len(), 8);
    }
    ts.finish().await;
}

#[tokio::test]
async fn stored_records_name_scopes_and_ids_that_name_nothing() {
    let ts = TestStore::new().await;
    let store = &ts.store;
    {
        let mut r = record(time::OffsetDateTime::now_utc());
        let gone = uuid::Uuid::new_v4();
        r.targets.push(AuditTarget::new("User", gone, None, None));
        r.additional_details.push((detail::DIRECTORY_SCOPE_ID.into(), "/".into()));
        r.additional_details.push((detail::PRINCIPAL_ID.into(), gone.to_string()));
        store.record_audit(&r, |_| {}).await.unwrap();
        let stored = store.get_audit(r.id).await.unwrap().unwrap().record;
        assert_eq!(stored.targets[0].display_name.as_deref(), Some(gone.to_string().as_str()));
        assert_eq!(stored.detail(detail::DIRECTORY_SCOPE_NAME), Some(detail::TENANT_SCOPE_NAME));
        assert_eq!(stored.detail(detail::PRINCIPAL_NAME), Some(gone.to_string().as_str()));
        // The name sits right after its id.
        let keys: Vec<&str> = stored.additional_details.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [detail::DIRECTORY_SCOPE_ID, detail::DIRECTORY_SCOPE_NAME, detail::PRINCIPAL_ID, detail::PRINCIPAL_NAME]
        );
    }
    ts.finish().await;
}
