//! The one write path: a transaction that also records the audit entry and change-feed rows.
//!
//! On SQLite every durable commit costs an fsync and the database has one writer, so under
//! concurrent writes OpenPIM commits in groups: writers still run one at a time (the writer
//! lock), but each runs inside a `SAVEPOINT` of a shared open transaction. A writer that finishes
//! while others are queued releases its savepoint and waits; the last writer of the group (or
//! the one that fills it) commits everyone with one fsync and applies their index updates in
//! order. Nobody is answered before the commit that makes their change durable, and a writer
//! that fails rolls back only its own savepoint. With no concurrency a group has one member and
//! this is an ordinary transaction. PostgreSQL gets one transaction per writer (it has its own
//! group commit and several nodes write at once).

use crate::codec::micros;
use crate::{audit, StoreError, StoreResult};
use openpim_core::audit::AuditRecord;
use openpim_core::change::IndexUpdate;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{oneshot, Mutex, MutexGuard};

/// Most writers committed by one fsync; bounds the wait of the first one.
const MAX_GROUP: usize = 64;
/// How long a finished writer waits for its group's commit before checking on it itself (the
/// writer expected to commit may have been cancelled).
const GROUP_CHECK: Duration = Duration::from_millis(2);

/// Change-feed rows written by one INSERT (a change notes a few; a cascade can note hundreds).
const FEED_ROWS_PER_INSERT: usize = 100;

/// `INSERT INTO change_feed ... VALUES ($1, $2, $3, $4), ($1, $5, $6, $7), ...` for `rows` rows
/// sharing the commit's instant (`$1`).
fn feed_insert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO change_feed (at, entity, entity_id, operation) VALUES ");
    for row in 0..rows {
        let first = 2 + 3 * row;
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("($1, ${}, ${}, ${})", first, first + 1, first + 2));
    }
    sql
}

/// Histogram: seconds one durable COMMIT of a write group took.
pub const COMMIT_SECONDS: &str = "openpim_write_commit_seconds";
/// Histogram: writers committed together by one COMMIT (1 without concurrency; at most 64).
pub const GROUP_SIZE: &str = "openpim_write_group_size";
/// Counter: audit records committed, by `world`, `kind` and `result`.
pub const AUDITED_CHANGES: &str = "openpim_audited_changes_total";
/// Counter: approval decisions committed (approved, denied, timed out), by `world` and `outcome`.
pub const APPROVAL_DECISIONS: &str = "openpim_approval_decisions_total";

/// Counts a committed audit record by its fixed classes (never by its ids or names).
fn count_audited(record: &AuditRecord) {
    let c = openpim_core::audit::activity::classify(record);
    let world: &'static str = c.world.into();
    let kind: &'static str = c.kind.into();
    metrics::counter!(AUDITED_CHANGES, "world" => world, "kind" => kind, "result" => record.result.as_str())
        .increment(1);
    if let (Some(outcome), openpim_core::audit::AuditResult::Success) = (c.approval, record.result) {
        let outcome: &'static str = outcome.into();
        metrics::counter!(APPROVAL_DECISIONS, "world" => world, "outcome" => outcome).increment(1);
    }
}

/// State behind the writer lock.
pub(crate) struct Writer {
    open: Option<Group>,
    next_group: u64,
}

/// A shared transaction and the finished writers waiting for it to commit.
struct Group {
    id: u64,
    tx: Transaction<'static, Any>,
    waiting: Vec<Waiting>,
    /// A writer left without committing or rolling back (its future was dropped): its savepoint
    /// must be rolled back before anyone else uses the transaction.
    abandoned_savepoint: bool,
}

struct Waiting {
    updates: Vec<IndexUpdate>,
    done: oneshot::Sender<Result<(), String>>,
}

/// The writer lock, and how many writers are queued for it (a finished writer leaves the commit
/// to them when there are any).
pub(crate) struct WriteGate {
    writer: Mutex<Writer>,
    queued: AtomicUsize,
    grouped: bool,
    groups_committed: AtomicU64,
    /// Test hook: the next commit stops after its feed rows, before the SQL COMMIT.
    pause_next: std::sync::Mutex<Option<CommitPause>>,
}

/// A commit held before its SQL COMMIT (tests reproduce interleavings with it, see
/// `Store::pause_next_commit`): `reached` fires when it gets there, `resume` lets it go on.
pub(crate) struct CommitPause {
    pub reached: oneshot::Sender<()>,
    pub resume: oneshot::Receiver<()>,
}

impl WriteGate {
    pub(crate) fn new(grouped: bool) -> Self {
        Self {
            writer: Mutex::new(Writer { open: None, next_group: 1 }),
            queued: AtomicUsize::new(0),
            grouped,
            groups_committed: AtomicU64::new(0),
            pause_next: std::sync::Mutex::new(None),
        }
    }

    pub(crate) fn set_pause(&self, pause: CommitPause) {
        *self.pause_next.lock().unwrap_or_else(|e| e.into_inner()) = Some(pause);
    }

    /// Waits here if a test asked the next commit to pause.
    async fn pause_point(&self) {
        let pause = self.pause_next.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(pause) = pause {
            let _ = pause.reached.send(());
            let _ = pause.resume.await;
        }
    }

    /// Durable commits made so far, one per group: fewer than the writers when writes were grouped.
    pub(crate) fn groups_committed(&self) -> u64 {
        self.groups_committed.load(Ordering::Relaxed)
    }

    async fn lock(&self) -> MutexGuard<'_, Writer> {
        struct Queued<'a>(&'a AtomicUsize);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        let _queued = Queued(&self.queued);
        self.writer.lock().await
    }

    pub(crate) async fn begin<'s>(&'s self, pool: &AnyPool, backend: crate::Backend) -> StoreResult<WriteTx<'s>> {
        let mut w = self.lock().await;
        clear_abandoned(&mut w).await?;
        if w.open.is_none() {
            // SQLite: take the database's write lock now (`BEGIN IMMEDIATE`). A deferred
            // transaction that reads first and writes later can meet SQLITE_BUSY_SNAPSHOT when
            // another connection (a migration, a second process) wrote in between, and facts read
            // inside the write must be the ones the write commits against.
            let tx = match backend {
                crate::Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
                crate::Backend::Postgres => pool.begin().await,
            }
            .map_err(StoreError::Db)?;
            let id = w.next_group;
            w.next_group += 1;
            w.open = Some(Group { id, tx, waiting: Vec::new(), abandoned_savepoint: false });
        }
        if self.grouped {
            let group = w.open.as_mut().expect("a group is open");
            if let Err(e) = group.tx.execute("SAVEPOINT writer").await {
                fail_group(&mut w, &e.to_string()).await;
                return Err(StoreError::Db(e));
            }
            group.abandoned_savepoint = true;
        }
        Ok(WriteTx {
            gate: self,
            writer: Some(w),
            updates: Vec::new(),
            feed: Vec::new(),
            backend,
            pool: pool.clone(),
            touched: Default::default(),
        })
    }
}

/// Rolls back what a dropped writer left half done. If that fails, the shared transaction is in
/// an unknown state, and everyone waiting on it is told their change failed.
async fn clear_abandoned(w: &mut Writer) -> StoreResult<()> {
    let Some(group) = w.open.as_mut() else { return Ok(()) };
    if !group.abandoned_savepoint {
        return Ok(());
    }
    let undone = async {
        group.tx.execute("ROLLBACK TO SAVEPOINT writer").await?;
        group.tx.execute("RELEASE SAVEPOINT writer").await
    }
    .await;
    match undone {
        Ok(_) => {
            group.abandoned_savepoint = false;
            Ok(())
        }
        Err(e) => {
            fail_group(w, &e.to_string()).await;
            Err(StoreError::Db(e))
        }
    }
}

/// Abandons the open group: rolls its transaction back and fails every waiting writer.
async fn fail_group(w: &mut Writer, why: &str) {
    if let Some(group) = w.open.take() {
        let _ = group.tx.rollback().await;
        for waiting in group.waiting {
            let _ = waiting.done.send(Err(why.to_string()));
        }
    }
}

/// Commits the open group, then applies every member's index updates in commit order (still
/// under the writer lock, so the index sees groups in the order they were committed).
async fn commit_group(gate: &WriteGate, w: &mut Writer, apply: impl FnOnce(Vec<IndexUpdate>)) -> StoreResult<()> {
    let Some(group) = w.open.take() else { return Ok(()) };
    let members = group.waiting.len();
    let started = std::time::Instant::now();
    match group.tx.commit().await {
        Ok(()) => {
            // The durable COMMIT (the fsync on SQLite) and how many writers shared it.
            metrics::histogram!(COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
            metrics::histogram!(GROUP_SIZE).record(members as f64);
            gate.groups_committed.fetch_add(1, Ordering::Relaxed);
            let mut updates = Vec::new();
            let mut notify = Vec::with_capacity(group.waiting.len());
            for waiting in group.waiting {
                updates.extend(waiting.updates);
                notify.push(waiting.done);
            }
            apply(updates);
            for done in notify {
                let _ = done.send(Ok(()));
            }
            Ok(())
        }
        Err(e) => {
            for waiting in group.waiting {
                let _ = waiting.done.send(Err(e.to_string()));
            }
            Err(StoreError::from_write(e))
        }
    }
}

pub struct WriteTx<'s> {
    gate: &'s WriteGate,
    /// Held from begin to commit or rollback; `None` only while finishing.
    writer: Option<MutexGuard<'s, Writer>>,
    updates: Vec<IndexUpdate>,
    feed: Vec<(&'static str, String, &'static str)>,
    backend: crate::Backend,
    /// For reading the committed state outside this transaction (see the invariants in `commit`).
    pool: AnyPool,
    /// What the change did that an invariant must look at beyond the feed's entity names.
    pub(crate) touched: crate::invariants::Touched,
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        // Dropped without commit or rollback (an early return, a cancelled request). When
        // finished writers wait on the group, the savepoint stays marked as abandoned and the
        // next user of the transaction rolls it back.
        if let Some(mut w) = self.writer.take() {
            if !self.gate.grouped || w.open.as_ref().is_some_and(|g| g.waiting.is_empty()) {
                // Dropping the transaction rolls it back (sqlx does so before reusing the
                // connection), as nobody else's change is in it.
                w.open = None;
            }
        }
    }
}

impl<'s> WriteTx<'s> {
    /// `FOR UPDATE` (or `FOR SHARE`) on PostgreSQL, where writers on other nodes run beside
    /// this one, so a fact read inside the write stays true until it commits; nothing on SQLite,
    /// whose `BEGIN IMMEDIATE` write transaction already excludes every other writer.
    pub(crate) fn lock_rows(&self, share: bool) -> &'static str {
        match (self.backend, share) {
            (crate::Backend::Sqlite, _) => "",
            (crate::Backend::Postgres, false) => " FOR UPDATE",
            (crate::Backend::Postgres, true) => " FOR SHARE",
        }
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        let w = self.writer.as_mut().expect("the writer is held until commit or rollback");
        &mut w.open.as_mut().expect("a group is open while a writer runs").tx
    }

    /// Notes a change for the access index (applied by the caller after commit).
    pub(crate) fn index(&mut self, update: IndexUpdate) {
        self.updates.push(update);
    }

    /// Notes a change for the change feed that other nodes follow.
    pub(crate) fn feed(&mut self, entity: &'static str, id: impl ToString, operation: &'static str) {
        self.feed.push((entity, id.to_string(), operation));
    }

    /// Notes that an Owner assignment at an ARM scope was removed (the last-Owner invariant).
    pub(crate) fn note_owner_removal(&mut self, scope: openpim_core::scope::ArmScope) {
        self.touched.owner_removals.push(scope);
    }

    /// Whether nothing has been written yet (every write notes a change-feed row).
    pub fn is_unchanged(&self) -> bool {
        self.feed.is_empty()
    }

    /// Whether this change writes rows of `entity` (a change-feed entity name such as "user").
    pub fn touches(&self, entity: &str) -> bool {
        self.feed.iter().any(|(e, _, _)| *e == entity)
    }

    /// Commits the change together with its audit record, then hands the index updates to
    /// `apply` while this node's writer lock is still held, so the in-memory index sees changes
    /// in exactly the order they were committed. Returns once the change is durable.
    ///
    /// Before anything is committed, the invariants the change may affect (`invariants.rs`) are
    /// checked inside the transaction; a violation rolls this writer back (only its savepoint
    /// under group commit) and returns [`StoreError::Invariant`].
    pub async fn commit(self, record: &AuditRecord, apply: impl FnOnce(Vec<IndexUpdate>)) -> StoreResult<()> {
        let committed = self.commit_durably(record, apply).await;
        if committed.is_ok() {
            // Counted here, once the record is durable: every change and every audited refusal
            // passes through this commit, from whichever surface or job made it.
            count_audited(record);
        }
        committed
    }

    async fn commit_durably(mut self, record: &AuditRecord, apply: impl FnOnce(Vec<IndexUpdate>)) -> StoreResult<()> {
        let at = micros(record.at);
        // Every commit appends to the audit chain, audit-only ones (refusals) too, so every
        // commit takes the commit-order lock on PostgreSQL.
        self.lock_commit_order().await?;
        let invariants = crate::invariants::affected(self.feed.iter().map(|(entity, _, _)| *entity));
        let touched = std::mem::take(&mut self.touched);
        for invariant in invariants {
            if let Err(violation) = (invariant.check)(self.conn(), at, &touched).await? {
                // Data from before the invariant was enforced may already break it. Refusing
                // every write that touches these entities would then block unrelated work (and
                // the repair) without protecting anything: only a write that breaks it is refused.
                let mut committed = self.pool.acquire().await.map_err(StoreError::Db)?;
                if (invariant.check)(&mut committed, at, &touched).await?.is_ok() {
                    tracing::info!(invariant = invariant.name, %violation, "write refused: it would break an invariant");
                    self.rollback().await?;
                    return Err(StoreError::Invariant(violation));
                }
                tracing::error!(invariant = invariant.name, %violation, "the committed data already breaks this invariant; repair it");
            }
        }
        // Who held what, when: derived from the same index updates, in the same transaction.
        let updates = std::mem::take(&mut self.updates);
        crate::history::record(self.conn(), &updates, at).await?;
        self.updates = updates;
        audit::insert(self.conn(), record).await?;
        let feed = std::mem::take(&mut self.feed);
        // One multi-row INSERT per change (rows keep their order, so their sequence numbers do):
        // every statement is a round trip made while the writer lock is held.
        for rows in feed.chunks(FEED_ROWS_PER_INSERT) {
            let sql = feed_insert_sql(rows.len());
            let mut q = sqlx::query(&sql).bind(at);
            for (entity, id, op) in rows {
                q = q.bind(*entity).bind(id.clone()).bind(*op);
            }
            q.execute(self.conn()).await.map_err(StoreError::Db)?;
        }
        if self.backend == crate::Backend::Postgres && !feed.is_empty() {
            // Delivered at commit: other nodes wake up and read the feed from their last seq.
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(crate::feed::CHANNEL)
                .execute(self.conn())
                .await
                .map_err(StoreError::Db)?;
        }
        self.gate.pause_point().await;
        let gate = self.gate;
        let mut w = self.writer.take().expect("the writer is held until commit or rollback");
        let (done, mut done_rx) = oneshot::channel();
        let group_id = {
            let group = w.open.as_mut().expect("a group is open while a writer runs");
            if gate.grouped {
                if let Err(e) = group.tx.execute("RELEASE SAVEPOINT writer").await {
                    fail_group(&mut w, &e.to_string()).await;
                    return Err(StoreError::Db(e));
                }
                group.abandoned_savepoint = false;
            }
            group.waiting.push(Waiting { updates: std::mem::take(&mut self.updates), done });
            group.id
        };
        let full = w.open.as_ref().is_some_and(|g| g.waiting.len() >= MAX_GROUP);
        if !gate.grouped || full || gate.queued.load(Ordering::Acquire) == 0 {
            commit_group(gate, &mut w, apply).await?;
            return Ok(());
        }
        // Others are queued: one of them (or the last of them) commits for us.
        drop(w);
        let mut apply = Some(apply);
        loop {
            match tokio::time::timeout(GROUP_CHECK, &mut done_rx).await {
                Ok(Ok(outcome)) => return outcome.map_err(StoreError::Commit),
                Ok(Err(_)) => return Err(StoreError::Commit("the write group was dropped".into())),
                Err(_) => {}
            }
            // Still not committed: the writers expected to commit may be gone. Look for ourselves.
            let mut w = gate.lock().await;
            let ours_open = w.open.as_ref().is_some_and(|g| g.id == group_id);
            if ours_open && gate.queued.load(Ordering::Acquire) == 0 {
                clear_abandoned(&mut w).await.ok();
                if w.open.as_ref().is_some_and(|g| g.id == group_id) {
                    let apply = apply.take().expect("a writer commits its group at most once");
                    commit_group(gate, &mut w, apply).await.ok();
                }
            }
        }
    }

    /// On PostgreSQL, takes the commit-order lock (held until COMMIT): writers on every node
    /// append to the change feed and the audit chain (and check invariants) one at a time, so
    /// feed sequence numbers become visible in the order they were allocated (a follower
    /// reading "after my last seq" cannot skip a later-committing row) and each audit record
    /// links to the chain head the previous commit left. The one lock serves both: the chain
    /// head row is read and updated under it, with no lock of its own. SQLite has one writer.
    pub(crate) async fn lock_commit_order(&mut self) -> StoreResult<()> {
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(crate::feed::COMMIT_ORDER_LOCK)
                .execute(self.conn())
                .await
                .map_err(StoreError::Db)?;
        }
        Ok(())
    }

    /// Abandons the change; nothing of it is written. Others in the same group are unaffected.
    pub async fn rollback(mut self) -> StoreResult<()> {
        let mut w = self.writer.take().expect("the writer is held until commit or rollback");
        let alone = w.open.as_ref().is_none_or(|g| g.waiting.is_empty());
        if !self.gate.grouped || alone {
            // Nobody else's change is in the transaction: end it, so it holds no lock while idle.
            return match w.open.take() {
                Some(group) => group.tx.rollback().await.map_err(StoreError::Db),
                None => Ok(()),
            };
        }
        // Finished writers wait on this transaction: undo only this writer's savepoint. They (or
        // the next writer) commit the group.
        clear_abandoned(&mut w).await
    }
}

/// Records an audit entry that changes nothing else (a denied or refused attempt) through the
/// one write path: it queues on the writer lock like every write and joins the group commit,
/// so it never holds a pool connection while waiting for the writer (which starved the writer
/// of connections when many were denied at once) and it is never silently dropped. `apply`
/// receives the index updates of the group this record may end up committing (other writers').
pub(crate) async fn record_only(
    store: &crate::Store,
    record: &AuditRecord,
    apply: impl FnOnce(Vec<IndexUpdate>),
) -> StoreResult<()> {
    let tx = store.begin_write().await?;
    tx.commit(record, apply).await
}
