//! The audit chain on every backend: records written through the write path verify, and a row
//! edited, deleted, moved or inserted directly in the database is found at the right record.
//! The PostgreSQL half runs when `OPENPIM_TEST_POSTGRES_URL` is set (each store in a fresh schema).

use openpim_core::audit::chain::{self, ChainBreak, Checkpoint, Start};
use openpim_core::audit::{AuditRecord, AuditResult};
use openpim_store::audit::ChainExcerpt;
use openpim_store::Store;
use sqlx::{AnyConnection, Connection, Executor};

fn record(n: i64) -> AuditRecord {
    AuditRecord {
        id: uuid::Uuid::new_v4(),
        at: time::OffsetDateTime::from_unix_timestamp(1_800_000_000 + n).unwrap(),
        category: "RoleManagement",
        activity: format!("Add member to role #{n}"),
        operation_type: "Assign",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: Some("admin@contoso.test".into()),
        initiated_by_display_name: None,
        targets: vec![],
        additional_details: vec![("reason".into(), format!("ticket {n}"))],
        correlation_id: uuid::Uuid::new_v4(),
    }
}

/// One store per backend; each test gets fresh ones.
struct Backend {
    name: &'static str,
    store: Store,
    url: String,
    schema: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("openpim.db").display());
    let mut out = vec![Backend {
        name: "sqlite",
        store: Store::open_sqlite_dir(dir.path()).await.unwrap(),
        url,
        schema: None,
        _dir: dir,
    }];
    if let Some(base) = std::env::var("OPENPIM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        let (name, url) = openpim_store::testing::create_postgres_schema(&base).await.unwrap();
        out.push(Backend {
            name: "postgres",
            store: Store::connect(&url).await.unwrap(),
            url,
            schema: Some((base, name)),
            _dir: tempfile::tempdir().unwrap(),
        });
    } else {
        eprintln!("OPENPIM_TEST_POSTGRES_URL is not set: checking SQLite alone");
    }
    out
}

impl Backend {
    async fn close(self) {
        self.store.close().await;
        if let Some((base, schema)) = self.schema {
            openpim_store::testing::drop_postgres_schema(&base, &schema).await.unwrap();
        }
    }

    /// Tampers with the database directly, around OpenPIM.
    async fn sql(&self, statements: &[&str]) {
        let mut conn = AnyConnection::connect(&self.url).await.unwrap();
        for s in statements {
            conn.execute(*s).await.unwrap_or_else(|e| panic!("{}: {s}: {e}", self.name));
        }
        conn.close().await.unwrap();
    }

    async fn write(&self, n: i64) -> Vec<AuditRecord> {
        let mut out = Vec::new();
        for i in 1..=n {
            let r = record(i);
            self.store.record_audit(&r, |_| {}).await.unwrap();
            out.push(r);
        }
        out
    }

    async fn excerpt(&self) -> ChainExcerpt {
        let excerpt = self.store.audit_chain_excerpt(1, None).await.unwrap();
        if self.name == "sqlite" {
            // The offline reader (`openpim audit verify --data`) sees the same.
            let offline =
                openpim_store::audit::read_sqlite_chain_readonly(&self._dir.path().join("openpim.db")).await.unwrap();
            assert_eq!(offline.records, excerpt.records);
            assert_eq!(offline.checkpoints, excerpt.checkpoints);
        }
        excerpt
    }

    async fn verify(&self) -> Result<chain::Verified, ChainBreak> {
        let e = self.excerpt().await;
        chain::verify(&e.records, &e.checkpoints, Start::Genesis, |c| {
            (c.signature == "signed").then_some(()).ok_or_else(|| "bad signature".into())
        })
    }
}

#[tokio::test]
async fn records_written_through_the_write_path_form_one_chain() {
    for b in backends().await {
        let written = b.write(3).await;
        // Concurrent writers (refusals, writes in one group commit) still get one total order.
        let concurrent: Vec<AuditRecord> = (10..30).map(record).collect();
        futures_util::future::try_join_all(concurrent.iter().map(|r| b.store.record_audit(r, |_| {}))).await.unwrap();
        let v = b.verify().await.unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(v.records, 23, "{}", b.name);
        assert_eq!(v.first_seq, Some(1));
        let head = b.store.audit_chain_head().await.unwrap();
        assert_eq!(v.head, Some((head.seq, head.hash.clone())), "{}", b.name);
        assert_eq!(head.seq, 23);
        assert_eq!(head.legacy_through, None, "{}: a new database has nothing to chain after the fact", b.name);
        // Records are chained in the order they were written.
        let e = b.excerpt().await;
        let first: Vec<String> = e.records.iter().take(3).map(|r| r.id.clone()).collect();
        assert_eq!(first, written.iter().map(|r| r.id.to_string()).collect::<Vec<_>>(), "{}", b.name);
        // The chain fields are on the stored record the API renders.
        let stored = b.store.get_audit(written[1].id).await.unwrap().unwrap();
        assert_eq!(stored.chain_seq, Some(2));
        assert_eq!(stored.chain_hash, e.records[1].chain_hash);
        b.close().await;
    }
}

/// The id of the record at `seq`.
async fn id_at(b: &Backend, seq: i64) -> String {
    b.excerpt().await.records.iter().find(|r| r.chain_seq == Some(seq)).unwrap().id.clone()
}

#[tokio::test]
async fn an_edited_row_fails_at_that_record() {
    for b in backends().await {
        b.write(5).await;
        let id = id_at(&b, 3).await;
        b.sql(&["UPDATE audit_log SET result = 'failure' WHERE chain_seq = 3"]).await;
        assert_eq!(b.verify().await, Err(ChainBreak::Edited { seq: 3, id }), "{}", b.name);
        b.close().await;
    }
}

#[tokio::test]
async fn an_edited_json_column_fails_at_that_record() {
    for b in backends().await {
        b.write(4).await;
        let id = id_at(&b, 2).await;
        b.sql(&["UPDATE audit_log SET additional_details = '[]' WHERE chain_seq = 2"]).await;
        assert_eq!(b.verify().await, Err(ChainBreak::Edited { seq: 2, id }), "{}", b.name);
        b.close().await;
    }
}

#[tokio::test]
async fn a_deleted_row_fails_at_the_gap() {
    for b in backends().await {
        b.write(5).await;
        let next = id_at(&b, 4).await;
        b.sql(&["DELETE FROM audit_log WHERE chain_seq = 3"]).await;
        assert_eq!(b.verify().await, Err(ChainBreak::Missing { expected: 3, found: 4, id: next }), "{}", b.name);
        b.close().await;
    }
}

#[tokio::test]
async fn swapped_rows_fail_at_the_first_of_them() {
    for b in backends().await {
        b.write(5).await;
        let (id3, id4) = (id_at(&b, 3).await, id_at(&b, 4).await);
        // Swap the two rows' places (through a free seq: chain_seq is unique).
        b.sql(&[
            "UPDATE audit_log SET chain_seq = -1 WHERE chain_seq = 3",
            "UPDATE audit_log SET chain_seq = 3 WHERE chain_seq = 4",
            "UPDATE audit_log SET chain_seq = 4 WHERE chain_seq = -1",
        ])
        .await;
        assert_eq!(b.verify().await, Err(ChainBreak::PrevMismatch { seq: 3, id: id4.clone() }), "{}", b.name);
        assert_ne!(id3, id4);
        b.close().await;
    }
}

#[tokio::test]
async fn a_row_inserted_around_the_write_path_is_found() {
    for b in backends().await {
        b.write(2).await;
        b.sql(&["INSERT INTO audit_log (id, activity_at, category, activity_display_name, operation_type, result, \
                 result_reason, target_resources, additional_details, correlation_id, logged_by_service) \
                 VALUES ('00000000-0000-0000-0000-0000000000aa', 0, 'RoleManagement', 'Forged', 'Add', 'success', \
                 '', '[]', '[]', '00000000-0000-0000-0000-0000000000bb', 'PIM')"])
            .await;
        assert_eq!(
            b.verify().await,
            Err(ChainBreak::Unchained { id: "00000000-0000-0000-0000-0000000000aa".into() }),
            "{}",
            b.name
        );
        // Reopening does not adopt it into the chain (only records from before the chain are).
        let reopened = Store::connect(&b.url).await.unwrap();
        assert_eq!(reopened.audit_chain_head().await.unwrap().seq, 2);
        reopened.close().await;
        b.close().await;
    }
}

#[tokio::test]
async fn checkpoints_round_trip_and_a_tampered_signature_fails() {
    for b in backends().await {
        b.write(4).await;
        let head = b.store.audit_chain_head().await.unwrap();
        let cp = Checkpoint {
            seq: head.seq,
            chain_hash: head.hash.clone(),
            created_at: 1,
            key_id: "k".into(),
            signature: "signed".into(),
        };
        assert!(b.store.insert_audit_checkpoint(&cp).await.unwrap());
        // Another node signing the same seq keeps the first.
        assert!(!b.store.insert_audit_checkpoint(&Checkpoint { key_id: "other".into(), ..cp.clone() }).await.unwrap());
        assert_eq!(b.store.audit_checkpoints(10, 0).await.unwrap(), vec![cp]);
        assert_eq!(b.verify().await.unwrap().checkpoints, 1, "{}", b.name);

        // The newest record deleted: the checkpoint proves the tail existed.
        b.sql(&["DELETE FROM audit_log WHERE chain_seq = 4"]).await;
        assert_eq!(b.verify().await, Err(ChainBreak::Truncated { seq: 4, head: 3 }), "{}", b.name);

        b.sql(&["UPDATE audit_checkpoints SET signature = 'forged' WHERE seq = 4"]).await;
        assert!(matches!(b.verify().await, Err(ChainBreak::BadSignature { seq: 4, .. })), "{}", b.name);
        b.close().await;
    }
}

#[tokio::test]
async fn records_from_before_the_chain_are_chained_once_on_upgrade() {
    for b in backends().await {
        // What a database migrated from before the chain holds: rows without chain fields.
        for (i, id) in
            ["00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000001"].iter().enumerate()
        {
            b.sql(&[&format!(
                "INSERT INTO audit_log (id, activity_at, category, activity_display_name, operation_type, result, \
                 result_reason, target_resources, additional_details, correlation_id, logged_by_service) \
                 VALUES ('{id}', {}, 'RoleManagement', 'Old', 'Add', 'success', '', '[]', '[]', '{id}', 'PIM')",
                1000 - i as i64
            )])
            .await;
        }
        let reopened = Store::connect(&b.url).await.unwrap();
        let head = reopened.audit_chain_head().await.unwrap();
        // The two old records (oldest first) and the record of the chaining itself.
        assert_eq!((head.seq, head.legacy_through), (3, Some(2)), "{}", b.name);
        assert!(head.legacy_chained_at.is_some());
        reopened.close().await;
        let v = b.verify().await.unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(v.records, 3);
        assert_eq!(id_at(&b, 1).await, "00000000-0000-0000-0000-000000000001");
        let e = b.excerpt().await;
        assert_eq!(e.records[2].activity_display_name, "Chain audit records written before the audit chain");
        // A second start finds nothing to do.
        let again = Store::connect(&b.url).await.unwrap();
        assert_eq!(again.audit_chain_head().await.unwrap().seq, 3);
        again.close().await;
        b.close().await;
    }
}
