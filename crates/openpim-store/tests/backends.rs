//! SQLite and PostgreSQL give the same answers: the same list queries (filters including
//! `startswith`, ordering, paging) over the same data, the held-schedule view, the change feed,
//! the access-index updates of committed writes (and their replay from the feed), policies and
//! approvals stored and read back in the store's v1 formats, and the two migration sets produce
//! the same tables and columns. SQLite always runs; the
//! PostgreSQL half runs when `OPENPIM_TEST_POSTGRES_URL` is set (each test in a fresh schema).

use openpim_core::approval::{Approval, ApprovalStatus, ReviewResult, StepStatus};
use openpim_core::audit::{AuditRecord, AuditResult};
use openpim_core::catalog;
use openpim_core::change::IndexUpdate;
use openpim_core::directory::{Group, ObjectKind, User};
use openpim_core::policy::rules::RuleKind;
use openpim_core::schedule::{Action, RequestStatus, ScheduleRequest, Ticket};
use openpim_core::schedule::{AssignmentType, ExpirationType, Kind, Schedule, ScheduleStatus};
use openpim_core::scope::{ArmScope, DirectoryScope, Scope, ROOT_STORED};
use openpim_core::ObjectId;
use openpim_odata::{parse_filter, OrderBy};
use openpim_store::records::{approval_steps, policy_rules};
use openpim_store::schedules::Window;
use openpim_store::{ListRequest, Store};
use sqlx::{AnyConnection, Connection, Row};
use time::macros::datetime;
use time::OffsetDateTime;

const T0: OffsetDateTime = datetime!(2026-05-01 12:00:00 UTC);

/// One store per backend: SQLite in a temp dir, and PostgreSQL in a fresh schema when configured.
struct Backends {
    stores: Vec<(&'static str, Store, String)>,
    _dir: tempfile::TempDir,
    schema: Option<(String, String)>,
}

impl Backends {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Store::open_sqlite_dir(dir.path()).await.unwrap();
        let sqlite_url = format!("sqlite://{}?mode=rwc", dir.path().join("openpim.db").display());
        let mut stores = vec![("sqlite", sqlite, sqlite_url)];
        let mut schema = None;
        if let Some(base) = std::env::var("OPENPIM_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
            let (name, url) = openpim_store::testing::create_postgres_schema(&base).await.unwrap();
            stores.push(("postgres", Store::connect(&url).await.unwrap(), url));
            schema = Some((base, name));
        } else {
            eprintln!("OPENPIM_TEST_POSTGRES_URL is not set: checking SQLite alone");
        }
        Self { stores, _dir: dir, schema }
    }

    async fn close(self) {
        for (_, store, _) in &self.stores {
            store.close().await;
        }
        if let Some((base, schema)) = self.schema {
            openpim_store::testing::drop_postgres_schema(&base, &schema).await.unwrap();
        }
    }
}

fn id(n: u128) -> ObjectId {
    ObjectId::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 + n)
}

fn user(n: u128, display_name: &str, enabled: bool) -> User {
    User {
        id: id(n),
        user_principal_name: format!("u{n}@backends.test"),
        display_name: display_name.into(),
        mail_nickname: format!("u{n}"),
        given_name: None,
        surname: None,
        mail: None,
        job_title: if n.is_multiple_of(2) { Some("Engineer".into()) } else { None },
        department: None,
        account_enabled: enabled,
        user_type: Default::default(),
        im_addresses: Vec::new(),
        created: T0 + time::Duration::minutes(n as i64),
    }
}

fn group(n: u128, name: &str, assignable: bool) -> Group {
    Group {
        id: id(n),
        display_name: name.into(),
        description: None,
        mail_nickname: name.replace(' ', ""),
        mail_enabled: false,
        security_enabled: true,
        is_assignable_to_role: assignable,
        unified: false,
        created: T0,
    }
}

fn schedule(
    n: u128,
    kind: Kind,
    principal: (ObjectId, ObjectKind),
    role: ObjectId,
    scope: DirectoryScope,
    end: Option<OffsetDateTime>,
    status: ScheduleStatus,
) -> Schedule {
    Schedule {
        id: id(n),
        kind,
        principal_id: principal.0,
        principal_kind: principal.1,
        role_definition_id: role,
        scope: scope.into(),
        assignment_type: (kind == Kind::Assignment).then_some(AssignmentType::Assigned),
        start: T0,
        end,
        expiration_type: if end.is_some() { ExpirationType::AfterDateTime } else { ExpirationType::NoExpiration },
        duration: None,
        status,
        created_using: None,
        activated_using: None,
        created: T0,
        modified: T0,
        created_by: None,
    }
}

fn record(activity: &str) -> AuditRecord {
    AuditRecord {
        id: ObjectId::new_v4(),
        at: T0,
        category: "UserManagement",
        activity: activity.into(),
        operation_type: "Add",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: vec![],
        additional_details: vec![],
        correlation_id: ObjectId::new_v4(),
    }
}

const NAMES: &[&str] = &["alice", "Alice", "ALBERT", "bob", "a_b", "a%b", "Zed", "zeta", "Bobby", "al"];
const UNIT: u128 = 900;
const READERS: u128 = 800;
const PLAIN: u128 = 801;

/// The same directory and schedules in every store (not bootstrapped: no tenant row, so the
/// write-path invariants have nothing to protect).
async fn seed(store: &Store) {
    let mut tx = store.begin_write().await.unwrap();
    for role in catalog::builtin_roles(T0) {
        tx.insert_role_definition(&role).await.unwrap();
    }
    for (n, name) in NAMES.iter().enumerate() {
        tx.insert_user(&user(n as u128, name, n % 3 != 2)).await.unwrap();
    }
    tx.insert_group(&group(READERS, "Readers", true)).await.unwrap();
    tx.insert_group(&group(PLAIN, "plain", false)).await.unwrap();
    for member in [0, 1, 2] {
        tx.add_group_member(id(READERS), id(member), ObjectKind::User, T0).await.unwrap();
    }
    let unit = openpim_core::directory::AdministrativeUnit {
        id: id(UNIT),
        display_name: "Unit".into(),
        description: None,
        created: T0,
    };
    tx.insert_administrative_unit(&unit).await.unwrap();
    let later = Some(T0 + time::Duration::days(10));
    let (a, e) = (Kind::Assignment, Kind::Eligibility);
    let user_p = |n: u128| (id(n), ObjectKind::User);
    let rows = [
        schedule(100, a, user_p(3), catalog::GLOBAL_READER, DirectoryScope::Tenant, None, ScheduleStatus::Provisioned),
        schedule(
            101,
            a,
            user_p(4),
            catalog::USER_ADMINISTRATOR,
            DirectoryScope::AdministrativeUnit(id(UNIT)),
            None,
            ScheduleStatus::Provisioned,
        ),
        schedule(
            102,
            a,
            (id(READERS), ObjectKind::Group),
            catalog::GLOBAL_READER,
            DirectoryScope::Tenant,
            later,
            ScheduleStatus::Provisioned,
        ),
        schedule(
            103,
            a,
            user_p(5),
            catalog::USER_ADMINISTRATOR,
            DirectoryScope::Object(id(0)),
            later,
            ScheduleStatus::Provisioned,
        ),
        schedule(104, a, user_p(6), catalog::GLOBAL_READER, DirectoryScope::Tenant, later, ScheduleStatus::Expired),
        schedule(
            105,
            e,
            user_p(7),
            catalog::USER_ADMINISTRATOR,
            DirectoryScope::Tenant,
            None,
            ScheduleStatus::Provisioned,
        ),
        schedule(
            106,
            e,
            (id(READERS), ObjectKind::Group),
            catalog::USER_ADMINISTRATOR,
            DirectoryScope::Tenant,
            None,
            ScheduleStatus::Provisioned,
        ),
    ];
    for s in &rows {
        tx.insert_schedule(s).await.unwrap();
    }
    tx.commit(&record("seed"), |_| {}).await.unwrap();
}

/// Every page of a list, following the offset as the server's skip token does (page size 3).
async fn all_pages<T, F, Fut>(top: usize, mut page: F) -> Vec<T>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = openpim_store::Page<T>>,
{
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let p = page(offset).await;
        let n = p.items.len();
        out.extend(p.items);
        if !p.has_more {
            return out;
        }
        assert_eq!(n, top, "a page with more after it is full");
        offset += n as u64;
    }
}

fn orderby(spec: &str) -> Vec<OrderBy> {
    spec.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (prop, dir) = s.split_once(' ').unwrap_or((s, "asc"));
            OrderBy { prop: prop.into(), descending: dir == "desc" }
        })
        .collect()
}

async fn users(store: &Store, filter: &str, order: &str) -> Vec<String> {
    let expr = (!filter.is_empty()).then(|| parse_filter(filter).unwrap());
    let ob = orderby(order);
    let got = all_pages(3, |offset| {
        let req = ListRequest { filter: expr.as_ref(), orderby: &ob, top: 3, offset, count: false };
        let store = &store;
        async move { store.list_users(&req).await.unwrap() }
    })
    .await;
    got.into_iter().map(|u| u.display_name).collect()
}

async fn held(store: &Store, kind: Kind, window: Window, filter: &str, order: &str) -> Vec<String> {
    let expr = (!filter.is_empty()).then(|| parse_filter(filter).unwrap());
    let ob = orderby(order);
    let got = all_pages(3, |offset| {
        let req = ListRequest { filter: expr.as_ref(), orderby: &ob, top: 3, offset, count: false };
        let store = &store;
        async move { store.list_held(kind, window, T0 + time::Duration::hours(1), None, &req).await.unwrap() }
    })
    .await;
    got.into_iter().map(|h| format!("{}:{}:{}", h.id, h.principal_id, h.member_type.as_str())).collect()
}

fn n(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The answers every backend must give (checked on each, so SQLite alone catches a regression).
#[tokio::test]
async fn list_queries_answer_alike_on_every_backend() {
    let b = Backends::open().await;
    let mut answers: Vec<Vec<(&str, Vec<String>)>> = Vec::new();
    for (backend, store, _) in &b.stores {
        let mut these = Vec::new();
        seed(store).await;
        let cases: Vec<(&str, &str, Vec<String>)> = vec![
            // Case-insensitive properties fold case, and LIKE metacharacters match literally.
            ("startswith(displayName,'al')", "displayName,id", n(&["al", "ALBERT", "alice", "Alice"])),
            ("startswith(displayName,'A_')", "displayName", n(&["a_b"])),
            ("startswith(displayName,'a%')", "displayName", n(&["a%b"])),
            ("displayName eq 'ALICE'", "id", n(&["alice", "Alice"])),
            ("startswith(userPrincipalName,'U1')", "displayName desc", n(&["Alice"])),
            ("accountEnabled eq false", "displayName", n(&["a%b", "ALBERT", "Bobby"])),
            ("jobTitle eq null", "displayName desc", n(&["zeta", "bob", "Alice", "al", "a%b"])),
            ("", "displayName", n(&["a%b", "a_b", "al", "ALBERT", "alice", "Alice", "bob", "Bobby", "Zed", "zeta"])),
        ];
        for (filter, order, want) in cases {
            let got = users(store, filter, order).await;
            assert_eq!(got, want, "{backend}: users ?$filter={filter}&$orderby={order}");
            these.push((filter, got));
        }
        // Case-sensitive properties stay case-sensitive (SQLite needs case_sensitive_like).
        let unit_scope = format!("/administrativeUnits/{}", id(UNIT));
        for (filter, want) in [
            (
                "startswith(directoryScopeId,'/administrativeUnits/')".to_string(),
                vec![format!("{}:{}:Direct", id(101), id(4))],
            ),
            ("startswith(directoryScopeId,'/ADMINISTRATIVEUNITS/')".to_string(), vec![]),
            ("startswith(directoryScopeId,'/administrativeunits/')".to_string(), vec![]),
            (format!("directoryScopeId eq '{}'", unit_scope.to_uppercase()), vec![]),
            (format!("directoryScopeId eq '{unit_scope}'"), vec![format!("{}:{}:Direct", id(101), id(4))]),
            ("startswith(status,'provisioned')".to_string(), vec![]),
        ] {
            let got = held(store, Kind::Assignment, Window::Live, &filter, "id").await;
            assert_eq!(got, want, "{backend}: assignment schedules ?$filter={filter}");
        }
        answers.push(these);
    }
    if answers.len() == 2 {
        assert_eq!(answers[0], answers[1], "SQLite and PostgreSQL");
    }
    b.close().await;
}

/// The held-schedule view: direct rows, group-held rows expanded to each member
/// (`{scheduleId}_{memberId}`, memberType Group) beside the group's own row, expired rows left out, instances only in
/// effect; the same rows in the same order on every backend.
#[tokio::test]
async fn the_held_schedule_view_answers_alike() {
    let b = Backends::open().await;
    let mut per_backend = Vec::new();
    for (backend, store, _) in &b.stores {
        seed(store).await;
        let group_rows =
            |schedule: u128| [0, 1, 2].map(|m| format!("{}_{}:{}:Group", id(schedule), id(m), id(m))).to_vec();
        let mut want = vec![
            format!("{}:{}:Direct", id(100), id(3)),
            format!("{}:{}:Direct", id(101), id(4)),
            // The group holds it directly, and each member through the group.
            format!("{}:{}:Direct", id(102), id(READERS)),
        ];
        want.extend(group_rows(102));
        want.push(format!("{}:{}:Direct", id(103), id(5)));
        let live = held(store, Kind::Assignment, Window::Live, "", "").await;
        assert_eq!(live, want, "{backend}: assignment schedules (expired 104 left out)");
        let instances = held(store, Kind::Assignment, Window::EffectiveAt(T0 + time::Duration::days(20)), "", "").await;
        assert_eq!(
            instances,
            vec![format!("{}:{}:Direct", id(100), id(3)), format!("{}:{}:Direct", id(101), id(4))],
            "{backend}: after the time-bound ones ended"
        );
        let via_group = held(store, Kind::Eligibility, Window::Live, "memberType eq 'group'", "principalId desc").await;
        let mut want = group_rows(106);
        want.reverse();
        assert_eq!(via_group, want, "{backend}: eligibilities held through the group");
        let by_member = held(store, Kind::Eligibility, Window::Live, &format!("principalId eq {}", id(1)), "").await;
        assert_eq!(by_member, vec![format!("{}_{}:{}:Group", id(106), id(1), id(1))], "{backend}");
        per_backend.push((live, instances, via_group));
    }
    if per_backend.len() == 2 {
        assert_eq!(per_backend[0], per_backend[1], "SQLite and PostgreSQL");
    }
    b.close().await;
}

/// The change feed: rows in commit order with increasing sequence numbers, `feed_since` pages
/// from a position, and the lag of a follower at a position.
#[tokio::test]
async fn the_change_feed_answers_alike() {
    let b = Backends::open().await;
    for (backend, store, _) in &b.stores {
        assert_eq!(store.feed_head().await.unwrap(), 0, "{backend}");
        let lag = store.feed_lag(0).await.unwrap();
        assert_eq!((lag.head, lag.oldest_pending), (0, None), "{backend}");
        seed(store).await;
        let head = store.feed_head().await.unwrap();
        let all = store.feed_since(0, 10_000).await.unwrap();
        assert_eq!(all.last().unwrap().seq, head, "{backend}");
        assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "{backend}: increasing");
        let entities: Vec<&str> = all.iter().map(|e| e.entity.as_str()).collect();
        let first_user = entities.iter().position(|e| *e == "user").unwrap();
        assert!(entities[..first_user].iter().all(|e| *e == "roleDefinition"), "{backend}: in write order");
        assert_eq!(entities.iter().filter(|e| **e == "user").count(), NAMES.len(), "{backend}");
        assert_eq!(entities.iter().filter(|e| **e == "groupMember").count(), 3, "{backend}");
        assert_eq!(entities.iter().filter(|e| **e == "role_assignments").count(), 5, "{backend}");
        assert_eq!(entities.iter().filter(|e| **e == "role_eligibilities").count(), 2, "{backend}");

        // Paging from a position.
        let middle = all[all.len() / 2].seq;
        let rest = store.feed_since(middle, 4).await.unwrap();
        assert_eq!(rest, all.iter().filter(|e| e.seq > middle).take(4).cloned().collect::<Vec<_>>(), "{backend}");
        let lag = store.feed_lag(middle).await.unwrap();
        assert_eq!(lag.head, head, "{backend}");
        assert_eq!(lag.oldest_pending, Some(T0), "{backend}: when the first unapplied entry was written");
        assert_eq!(store.feed_lag(head).await.unwrap().oldest_pending, None, "{backend}: up to date");

        // A second commit comes after the first.
        let mut tx = store.begin_write().await.unwrap();
        tx.insert_user(&user(50, "later", true)).await.unwrap();
        tx.commit(&record("later"), |_| {}).await.unwrap();
        let next = store.feed_since(head, 10).await.unwrap();
        assert_eq!(next.len(), 1, "{backend}");
        assert_eq!((next[0].entity.as_str(), next[0].entity_id.as_str()), ("user", id(50).to_string().as_str()));
        assert!(next[0].seq > head, "{backend}");
    }
    b.close().await;
}

/// What another node applies for the feed entries after `seq`: the entities' current state.
async fn replay(store: &Store, seq: i64) -> Vec<IndexUpdate> {
    let mut updates = Vec::new();
    for entry in store.feed_since(seq, 1000).await.unwrap() {
        updates.extend(store.index_updates_for(&entry).await.unwrap());
    }
    updates
}

/// The index updates a commit hands to `apply`: one per change to what grants access, in write
/// order (eligibilities grant nothing, an eligibility's removal revokes its activations), none
/// for a write that was dropped; and another node replaying the feed derives the same ones.
#[tokio::test]
async fn committed_writes_report_their_index_updates() {
    let b = Backends::open().await;
    for (backend, store, _) in &b.stores {
        seed(store).await;
        let (team, member, eligibility, activation, grant) = (810, 8, 121, 122, 120);
        let eligible = schedule(
            eligibility,
            Kind::Eligibility,
            (id(member), ObjectKind::User),
            catalog::USER_ADMINISTRATOR,
            DirectoryScope::Tenant,
            None,
            ScheduleStatus::Provisioned,
        );
        let activated = Schedule {
            assignment_type: Some(AssignmentType::Activated),
            activated_using: Some(id(eligibility)),
            ..schedule(
                activation,
                Kind::Assignment,
                (id(member), ObjectKind::User),
                catalog::USER_ADMINISTRATOR,
                DirectoryScope::Tenant,
                Some(T0 + time::Duration::hours(8)),
                ScheduleStatus::Provisioned,
            )
        };
        let group_grant = schedule(
            grant,
            Kind::Assignment,
            (id(team), ObjectKind::Group),
            catalog::GLOBAL_READER,
            DirectoryScope::Tenant,
            None,
            ScheduleStatus::Provisioned,
        );

        let head = store.feed_head().await.unwrap();
        let mut tx = store.begin_write().await.unwrap();
        tx.insert_group(&group(team, "Team", true)).await.unwrap();
        tx.add_group_member(id(team), id(member), ObjectKind::User, T0).await.unwrap();
        tx.insert_schedule(&group_grant).await.unwrap();
        tx.insert_schedule(&eligible).await.unwrap();
        tx.insert_schedule(&activated).await.unwrap();
        let mut applied = Vec::new();
        tx.commit(&record("add"), |updates| applied = updates).await.unwrap();
        let want = vec![
            IndexUpdate::GroupSaved { group_id: id(team), is_assignable_to_role: true, is_security_enabled: true },
            IndexUpdate::MemberAdded { group_id: id(team), member_id: id(member) },
            IndexUpdate::GrantAdded(group_grant.to_grant()),
            IndexUpdate::GrantAdded(activated.to_grant()),
        ];
        assert_eq!(applied, want, "{backend}: the eligibility itself grants nothing");
        assert_eq!(replay(store, head).await, want, "{backend}: replayed from the feed");

        // A dropped write reports nothing and leaves nothing in the feed.
        let head = store.feed_head().await.unwrap();
        let mut tx = store.begin_write().await.unwrap();
        tx.insert_group(&group(811, "Dropped", true)).await.unwrap();
        drop(tx);
        assert_eq!(store.feed_head().await.unwrap(), head, "{backend}");
        assert!(store.get_group(id(811)).await.unwrap().is_none(), "{backend}");

        let mut tx = store.begin_write().await.unwrap();
        let revoked = tx.remove_schedule(&eligible).await.unwrap();
        assert_eq!(revoked, vec![id(activation)], "{backend}: the activation ends with its eligibility");
        assert!(tx.remove_group_member(id(team), id(member)).await.unwrap());
        tx.remove_schedule(&group_grant).await.unwrap();
        tx.delete_group(id(team), T0).await.unwrap();
        let mut applied = Vec::new();
        tx.commit(&record("remove"), |updates| applied = updates).await.unwrap();
        let want = vec![
            IndexUpdate::GrantRemoved(id(activation)),
            IndexUpdate::MemberRemoved { group_id: id(team), member_id: id(member) },
            IndexUpdate::GrantRemoved(id(grant)),
            IndexUpdate::GroupDeleted(id(team)),
        ];
        assert_eq!(applied, want, "{backend}");
        assert_eq!(replay(store, head).await, want, "{backend}: replayed from the feed");
    }
    b.close().await;
}

/// The start-up load (`load_index_into`, one streamed query per table, grants decoded from 7
/// columns) after writes of every kind gives exactly what the stored rows say: each live
/// assignment as `get_schedule(..).to_grant()` reads it (the per-row path it replaced), no
/// expired or removed one, every member and group; and replaying the load onto an index gives
/// the same answers as the index the writes themselves kept up to date.
#[tokio::test]
async fn the_streamed_index_load_matches_the_rows() {
    use openpim_core::access::{AccessIndex, Grant};
    let b = Backends::open().await;
    for (backend, store, _) in &b.stores {
        seed(store).await;
        let mut kept = AccessIndex::new();
        store.load_index_into(|u| kept.apply(u)).await.unwrap();
        let (member, eligibility) = (9u128, 131u128);
        let activated = Schedule {
            assignment_type: Some(AssignmentType::Activated),
            activated_using: Some(id(eligibility)),
            ..schedule(
                132,
                Kind::Assignment,
                (id(member), ObjectKind::User),
                catalog::USER_ADMINISTRATOR,
                DirectoryScope::AdministrativeUnit(id(UNIT)),
                Some(T0 + time::Duration::hours(8)),
                ScheduleStatus::Provisioned,
            )
        };
        let mut arm = schedule(
            133,
            Kind::Assignment,
            (id(member), ObjectKind::User),
            catalog::GLOBAL_READER,
            DirectoryScope::Tenant,
            None,
            ScheduleStatus::Provisioned,
        );
        arm.scope = Scope::Arm(ArmScope::parse("/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d").unwrap());
        let mut tx = store.begin_write().await.unwrap();
        tx.insert_schedule(&activated).await.unwrap();
        tx.insert_schedule(&arm).await.unwrap();
        tx.add_group_member(id(READERS), id(member), ObjectKind::User, T0).await.unwrap();
        assert!(tx.remove_group_member(id(READERS), id(0)).await.unwrap());
        let removed = store.get_schedule(Kind::Assignment, id(100)).await.unwrap().unwrap();
        tx.remove_schedule(&removed).await.unwrap();
        tx.commit(&record("changes after the first load"), |updates| updates.into_iter().for_each(|u| kept.apply(u)))
            .await
            .unwrap();

        let loaded = store.load_index().await.unwrap();
        let mut grants: Vec<Grant> = loaded
            .iter()
            .filter_map(|u| match u {
                IndexUpdate::GrantAdded(g) => Some(g.clone()),
                _ => None,
            })
            .collect();
        grants.sort_by_key(|g| g.id);
        let mut want = Vec::new();
        for n in [101, 102, 103, 132, 133] {
            want.push(store.get_schedule(Kind::Assignment, id(n)).await.unwrap().unwrap().to_grant());
        }
        want.sort_by_key(|g| g.id);
        assert_eq!(grants, want, "{backend}: the live assignments, as the per-row read gives them");
        assert_eq!(grants.iter().find(|g| g.id == id(132)), Some(&activated.to_grant()), "{backend}");
        let members: Vec<_> = loaded
            .iter()
            .filter_map(|u| match u {
                IndexUpdate::MemberAdded { group_id, member_id } if *group_id == id(READERS) => Some(*member_id),
                _ => None,
            })
            .collect();
        let mut members_sorted = members.clone();
        members_sorted.sort();
        assert_eq!(members_sorted, vec![id(1), id(2), id(member)], "{backend}");

        let mut fresh = AccessIndex::new();
        loaded.into_iter().for_each(|u| fresh.apply(u));
        assert_eq!(fresh.grant_count(), kept.grant_count(), "{backend}");
        let at = T0 + time::Duration::hours(1);
        let held = |index: &AccessIndex, principal| {
            let mut v: Vec<_> =
                index.effective_grants(principal, at).iter().map(|e| (e.grant.clone(), e.via_group)).collect();
            v.sort_by_key(|(g, _)| g.id);
            v
        };
        for principal in (0..12).map(id) {
            assert_eq!(held(&fresh, principal), held(&kept, principal), "{backend}: principal {principal}");
        }
        assert_eq!(held(&fresh, id(member)).len(), 3, "{backend}: activated, ARM and through Readers");
    }
    b.close().await;
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

/// The text a JSON column holds, read with plain SQL (not through the store's decoders).
async fn raw_column(url: &str, sql: &str) -> String {
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap();
    row.get::<String, _>(0)
}

/// A policy's rules are stored in the v1 format, byte for byte what earlier versions wrote, and
/// read back (by role, by either policy id, inside a write) to the same rules; an update records
/// who made it, and the approver facts read from the rules follow it.
#[tokio::test]
async fn policies_round_trip() {
    let approver = uuid::uuid!("6a7f3c51-0b2e-4d8a-9f1c-2e3d4c5b6a79");
    let b = Backends::open().await;
    for (backend, store, url) in &b.stores {
        seed(store).await;
        let stored_bytes = fixture("policy_rules_variants.json");
        let rules = policy_rules::decode(&stored_bytes).unwrap();
        let mut tx = store.begin_write().await.unwrap();
        let suffix = tx.insert_policy(id(1000), catalog::GLOBAL_READER, &rules).await.unwrap();
        tx.commit(&record("policy"), |_| {}).await.unwrap();

        assert_eq!(raw_column(url, "SELECT rules FROM role_management_policies").await, stored_bytes, "{backend}");
        assert_eq!(store.policy_rules_of(catalog::GLOBAL_READER).await.unwrap(), Some(rules.clone()), "{backend}");
        assert_eq!(store.policy_rules_of(catalog::USER_ADMINISTRATOR).await.unwrap(), None, "{backend}");
        for scope_type in ["DirectoryRole", "Directory"] {
            let policy = store.get_policy(&format!("{scope_type}_{suffix}")).await.unwrap().unwrap();
            assert_eq!((policy.scope_type.as_str(), policy.role_definition_id), (scope_type, catalog::GLOBAL_READER));
            assert_eq!((policy.rules, policy.last_modified, policy.last_modified_by), (rules.clone(), None, None));
        }
        let latent = store.latent_roles_of(approver).await.unwrap();
        assert_eq!(latent.approver_for, vec![catalog::GLOBAL_READER], "{backend}: listed as an approver");

        // Read-modify-write inside a transaction: drop the approval rules.
        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(tx.policy_rules_of(catalog::GLOBAL_READER).await.unwrap(), Some(rules.clone()), "{backend}");
        let current = tx.policy_for_update(&format!("Directory_{suffix}")).await.unwrap().unwrap();
        let changed: Vec<_> = current.rules.into_iter().filter(|r| !matches!(r.kind, RuleKind::Approval(_))).collect();
        assert_eq!(changed.len(), rules.len() - 3);
        let at = T0 + time::Duration::hours(1);
        tx.update_policy_rules(&suffix, &changed, (id(3), "bob"), at).await.unwrap();
        tx.commit(&record("policy update"), |_| {}).await.unwrap();

        let policy = store.get_policy(&format!("DirectoryRole_{suffix}")).await.unwrap().unwrap();
        assert_eq!(policy.rules, changed, "{backend}");
        assert_eq!((policy.last_modified, policy.last_modified_by), (Some(at), Some((id(3), "bob".to_string()))));
        assert_eq!(
            raw_column(url, "SELECT rules FROM role_management_policies").await,
            policy_rules::encode(&changed).unwrap(),
            "{backend}"
        );
        assert!(store.latent_roles_of(approver).await.unwrap().approver_for.is_empty(), "{backend}: no longer listed");
    }
    b.close().await;
}

/// Azure role policies are per (role, ARM scope): an unchanged one reads as Azure's defaults, a
/// changed one only at its own scope (any casing), not above or below it; the engine's one lookup
/// (`policy_rules_at`) answers the directory policy for directory scopes; a delete resets.
#[tokio::test]
async fn arm_policies_are_per_role_and_scope() {
    use openpim_core::policy::rules::azure_default_rules;
    use openpim_store::arm_policies::ArmPolicyWrite;
    let sub = ArmScope::parse("/subscriptions/00000000-0000-0000-0000-0000000000aa").unwrap();
    let rg = ArmScope::parse("/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg1").unwrap();
    let sub_upper = ArmScope::parse("/subscriptions/00000000-0000-0000-0000-0000000000AA").unwrap();
    let b = Backends::open().await;
    for (backend, store, _url) in &b.stores {
        seed(store).await;
        let role = catalog::GLOBAL_READER;
        let mut tx = store.begin_write().await.unwrap();
        let defaults = tx.policy_rules_at(role, &Scope::Arm(sub.clone())).await.unwrap();
        assert_eq!(defaults, Some(azure_default_rules()), "{backend}");
        let mut changed = azure_default_rules();
        changed.retain(|r| !r.id.starts_with("Notification_"));
        let at = T0 + time::Duration::hours(2);
        let write = ArmPolicyWrite {
            id: id(77),
            role_definition_id: role,
            scope: &sub,
            rules: &changed,
            by: (id(3), "bob"),
            now: at,
        };
        tx.put_arm_policy(&write).await.unwrap();
        tx.commit(&record("arm policy"), |_| {}).await.unwrap();

        let stored = store.arm_policy(role, &sub_upper).await.unwrap().unwrap();
        assert_eq!(
            (stored.id, stored.rules.clone(), stored.last_modified),
            (id(77), changed.clone(), Some(at)),
            "{backend}"
        );
        assert_eq!(stored.last_modified_by, Some((id(3), "bob".to_string())));
        assert!(store.arm_policy(role, &rg).await.unwrap().is_none(), "{backend}: not inherited");
        assert_eq!(store.arm_policies_at(&sub).await.unwrap().len(), 1);
        assert!(store.arm_policies_at(&rg).await.unwrap().is_empty());

        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(tx.policy_rules_at(role, &Scope::Arm(sub_upper.clone())).await.unwrap(), Some(changed.clone()));
        assert_eq!(tx.policy_rules_at(role, &Scope::Arm(rg.clone())).await.unwrap(), Some(azure_default_rules()));
        assert_eq!(
            tx.policy_rules_at(role, &Scope::Directory(DirectoryScope::Tenant)).await.unwrap(),
            None,
            "{backend}: no directory policy seeded"
        );
        // A second write replaces the rules of the same row.
        let again = ArmPolicyWrite { rules: &defaults.clone().unwrap(), ..write.clone() };
        tx.put_arm_policy(&again).await.unwrap();
        assert!(tx.delete_arm_policy(role, &sub_upper).await.unwrap());
        assert!(!tx.delete_arm_policy(role, &sub).await.unwrap());
        tx.commit(&record("arm policy reset"), |_| {}).await.unwrap();
        assert!(store.arm_policy(role, &sub).await.unwrap().is_none(), "{backend}");
    }
    b.close().await;
}

/// An approval and its steps are stored in the v1 format and read back whole; a decision saves
/// only while the approval is still pending, so a second decider (or the timeout job) loses.
#[tokio::test]
async fn approvals_round_trip() {
    let b = Backends::open().await;
    for (backend, store, url) in &b.stores {
        seed(store).await;
        let request = ScheduleRequest {
            id: id(300),
            kind: Kind::Assignment,
            action: Action::SelfActivate,
            principal_id: id(3),
            role_definition_id: catalog::GLOBAL_READER,
            scope: Scope::TENANT,
            justification: Some("audit".into()),
            schedule: None,
            ticket: Ticket::default(),
            status: RequestStatus::PendingApproval,
            created: T0,
            completed: None,
            created_by: id(3),
            target_schedule_id: None,
            approval_id: None,
            is_validation_only: false,
            custom_data: None,
        };
        let stored_steps = fixture("approval_steps_in_progress.json");
        let approval = Approval {
            id: id(301),
            request_id: request.id,
            requester: id(3),
            status: ApprovalStatus::Pending,
            steps: approval_steps::decode(&stored_steps).unwrap(),
            created: T0,
            expires: T0 + time::Duration::days(1),
        };
        let mut tx = store.begin_write().await.unwrap();
        tx.insert_request(&request).await.unwrap();
        tx.insert_approval(&approval).await.unwrap();
        tx.set_request_approval(request.id, approval.id).await.unwrap();
        tx.commit(&record("approval"), |_| {}).await.unwrap();

        assert_eq!(raw_column(url, "SELECT steps FROM approvals").await, stored_steps, "{backend}");
        assert_eq!(store.get_approval(approval.id).await.unwrap(), Some(approval.clone()), "{backend}");
        assert_eq!(store.pending_approvals(T0).await.unwrap(), vec![approval.clone()], "{backend}");
        let after = T0 + time::Duration::days(2);
        assert!(store.pending_approvals(after).await.unwrap().is_empty(), "{backend}: expired");
        assert_eq!(store.expired_approvals(after, 10).await.unwrap(), vec![approval.clone()], "{backend}");

        let mut decided = approval.clone();
        decided.status = ApprovalStatus::Denied;
        let step = &mut decided.steps[1];
        (step.status, step.review_result) = (StepStatus::Completed, ReviewResult::Deny);
        (step.reviewed_by, step.reviewed_at, step.justification) =
            (Some(id(4)), Some(T0 + time::Duration::minutes(5)), Some("no".into()));
        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(tx.approval(approval.id).await.unwrap(), Some(approval.clone()), "{backend}");
        assert!(tx.save_pending_approval(&decided).await.unwrap(), "{backend}");
        tx.commit(&record("deny"), |_| {}).await.unwrap();
        assert_eq!(store.get_approval(approval.id).await.unwrap(), Some(decided.clone()), "{backend}");

        let mut late = approval.clone();
        late.status = ApprovalStatus::TimedOut;
        let mut tx = store.begin_write().await.unwrap();
        assert!(!tx.save_pending_approval(&late).await.unwrap(), "{backend}: already decided");
        tx.commit(&record("timeout"), |_| {}).await.unwrap();
        assert_eq!(store.get_approval(approval.id).await.unwrap(), Some(decided), "{backend}: the decision stands");
        assert!(store.pending_approvals(T0).await.unwrap().is_empty(), "{backend}");
    }
    b.close().await;
}

/// String lists (a notification's recipients, a UI session's authentication contexts) are
/// stored as earlier versions wrote them and read back unchanged.
#[tokio::test]
async fn string_lists_round_trip() {
    let b = Backends::open().await;
    for (backend, store, url) in &b.stores {
        let stored_bytes = fixture("string_list.json");
        let list = openpim_store::records::string_list::decode(&stored_bytes).unwrap();

        let mut tx = store.begin_write().await.unwrap();
        tx.enqueue_notification("webhook", "test", "{}", &list, T0).await.unwrap();
        tx.commit(&record("notify"), |_| {}).await.unwrap();
        assert_eq!(raw_column(url, "SELECT recipients FROM notification_outbox").await, stored_bytes, "{backend}");
        let due = store.outbox_due(T0, 10).await.unwrap();
        assert_eq!(due.iter().map(|item| &item.recipients).collect::<Vec<_>>(), vec![&list], "{backend}");

        seed(store).await;
        let session = openpim_store::sessions::UiSession {
            user_id: id(0),
            mfa: true,
            acrs: list.clone(),
            created: T0,
            expires: T0 + time::Duration::hours(1),
            issuer: Some("https://idp.test".into()),
            id_token: Some("a.b.c".into()),
        };
        store.insert_ui_session("hash", &session).await.unwrap();
        assert_eq!(raw_column(url, "SELECT acrs FROM ui_sessions").await, stored_bytes, "{backend}");
        assert_eq!(store.ui_session("hash", T0).await.unwrap(), Some(session), "{backend}");
    }
    b.close().await;
}

/// A sign-in sent to a provider is answered once: taking it deletes it, an expired one is not
/// handed out, and adding one sweeps the expired.
#[tokio::test]
async fn oidc_auth_requests_are_taken_once_and_expire() {
    let b = Backends::open().await;
    for (backend, store, _) in &b.stores {
        let request = |expires| openpim_store::sessions::OidcAuthRequest {
            browser_hash: "browser".into(),
            issuer: "https://idp.test".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            replaces_session: Some("old".into()),
            pending_action: Some("{}".into()),
            created: T0,
            expires,
        };
        let live = request(T0 + time::Duration::minutes(10));
        store.insert_oidc_auth_request("s1", &live).await.unwrap();
        store.insert_oidc_auth_request("s2", &request(T0 + time::Duration::minutes(1))).await.unwrap();
        assert_eq!(store.take_oidc_auth_request("s1", T0).await.unwrap(), Some(live.clone()), "{backend}");
        assert_eq!(store.take_oidc_auth_request("s1", T0).await.unwrap(), None, "{backend}: taken once");
        let later = T0 + time::Duration::minutes(5);
        assert_eq!(store.take_oidc_auth_request("s2", later).await.unwrap(), None, "{backend}: expired");
        store.insert_oidc_auth_request("s3", &request(T0 + time::Duration::minutes(1))).await.unwrap();
        let sweeping = openpim_store::sessions::OidcAuthRequest { created: later, ..live };
        store.insert_oidc_auth_request("s4", &sweeping).await.unwrap();
        assert_eq!(store.take_oidc_auth_request("s3", T0).await.unwrap(), None, "{backend}: swept");
        assert!(store.take_oidc_auth_request("s4", later).await.unwrap().is_some(), "{backend}");
    }
    b.close().await;
}

/// Schedules keep their scope as the text they always had: directory scopes as before, ARM
/// scopes as their canonical text, read back as the same `Scope` on both backends.
#[tokio::test]
async fn scopes_of_both_families_round_trip_through_the_store() {
    let b = Backends::open().await;
    let vm = "/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d/resourceGroups/Prod-RG/providers/Microsoft.Compute/virtualMachines/VM1";
    for (backend, store, url) in &b.stores {
        seed(store).await;
        let arm = Scope::Arm(ArmScope::parse(vm).unwrap());
        let mut at_vm = schedule(
            200,
            Kind::Eligibility,
            (id(1), ObjectKind::User),
            catalog::GLOBAL_READER,
            DirectoryScope::Tenant,
            None,
            ScheduleStatus::Provisioned,
        );
        at_vm.scope = arm.clone();
        let mut tx = store.begin_write().await.unwrap();
        tx.insert_schedule(&at_vm).await.unwrap();
        let found = tx.live_schedule(Kind::Eligibility, id(1), catalog::GLOBAL_READER, &arm).await.unwrap();
        assert_eq!(found.map(|s| s.id), Some(at_vm.id), "{backend}");
        tx.commit(&record("arm"), |_| {}).await.unwrap();

        let read = store.get_schedule(Kind::Eligibility, at_vm.id).await.unwrap().unwrap();
        assert_eq!(read.scope, arm, "{backend}");
        assert_eq!(read.scope.to_string(), vm, "{backend}: stored and read as the same text");
        let unit = store.get_schedule(Kind::Assignment, id(101)).await.unwrap().unwrap();
        assert_eq!(unit.scope, DirectoryScope::AdministrativeUnit(id(UNIT)), "{backend}");
        let raw: String =
            sqlx::query_scalar::<_, String>("SELECT directory_scope_id FROM role_eligibilities WHERE id = $1")
                .bind(at_vm.id.to_string())
                .fetch_one(&mut AnyConnection::connect(url).await.unwrap())
                .await
                .unwrap();
        assert_eq!(raw, vm, "{backend}");

        // ARM's root `/` is kept apart from the directory tenant `/`: its own text and key, read
        // back as ARM's root, and never found as a directory-tenant schedule.
        let root = Scope::Arm(ArmScope::root());
        let mut at_root = schedule(
            201,
            Kind::Assignment,
            (id(1), ObjectKind::User),
            catalog::GLOBAL_READER,
            DirectoryScope::Tenant,
            None,
            ScheduleStatus::Provisioned,
        );
        at_root.scope = root.clone();
        let mut tx = store.begin_write().await.unwrap();
        tx.insert_schedule(&at_root).await.unwrap();
        let found = tx.live_schedule(Kind::Assignment, id(1), catalog::GLOBAL_READER, &root).await.unwrap();
        assert_eq!(found.map(|s| s.id), Some(at_root.id), "{backend}");
        let as_tenant =
            tx.live_schedule(Kind::Assignment, id(1), catalog::GLOBAL_READER, &Scope::TENANT).await.unwrap();
        assert_ne!(as_tenant.map(|s| s.id), Some(at_root.id), "{backend}: ARM's / is not the tenant");
        tx.commit(&record("arm root"), |_| {}).await.unwrap();
        let read = store.get_schedule(Kind::Assignment, at_root.id).await.unwrap().unwrap();
        assert_eq!((&read.scope, read.scope.to_string()), (&root, ROOT_STORED.to_string()), "{backend}");
        let mut conn = AnyConnection::connect(url).await.unwrap();
        let row = sqlx::query("SELECT directory_scope_id, scope_key FROM role_assignments WHERE id = $1")
            .bind(at_root.id.to_string())
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let (text, key): (String, String) = (row.get("directory_scope_id"), row.get("scope_key"));
        assert_eq!((text.as_str(), key.as_str()), (ROOT_STORED, "/providers/microsoft.authorization"), "{backend}");
    }
    b.close().await;
}

/// The tables and columns (name, nullability, and a coarse type) after each backend's migrations.
async fn columns(url: &str, postgres: bool) -> Vec<(String, String, bool, &'static str)> {
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let coarse = |t: &str| -> &'static str {
        let t = t.to_ascii_lowercase();
        if t.contains("int") {
            "integer"
        } else if t.contains("text") || t.contains("char") {
            "text"
        } else if t.contains("double") || t.contains("real") || t.contains("float") {
            "real"
        } else if t.contains("bool") {
            "boolean"
        } else {
            "other"
        }
    };
    let rows = if postgres {
        sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, \
             CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END AS required \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name <> '_sqlx_migrations' ORDER BY 1, 2",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
    } else {
        sqlx::query(
            "SELECT m.name AS t, p.name AS c, p.type AS ty, \
             CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 1 ELSE 0 END AS required \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT IN ('_sqlx_migrations', 'sqlite_sequence') ORDER BY 1, 2",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
    };
    rows.iter()
        .map(|r| {
            let notnull: i32 = r.try_get::<i32, _>("required").unwrap_or_else(|_| r.get::<i64, _>("required") as i32);
            (r.get::<String, _>("t"), r.get::<String, _>("c"), notnull == 1, coarse(&r.get::<String, _>("ty")))
        })
        .collect()
}

/// The SQLite and PostgreSQL migrations stay in step: the same file names, and (with PostgreSQL)
/// the same tables, columns, nullability and column types after running both.
#[tokio::test]
async fn the_migrations_stay_in_step() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |backend: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir.join(backend))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("sqlite"), names("postgres"), "one migration file per backend, same names");

    let b = Backends::open().await;
    let sqlite = columns(&b.stores[0].2, false).await;
    assert!(sqlite.iter().any(|(t, c, _, _)| t == "change_feed" && c == "seq"), "{sqlite:?}");
    if let Some((_, _, url)) = b.stores.get(1) {
        let postgres = columns(url, true).await;
        type Column = (String, String, bool, &'static str);
        let only = |a: &[Column], b: &[Column]| a.iter().filter(|x| !b.contains(x)).cloned().collect::<Vec<_>>();
        assert!(
            sqlite == postgres,
            "migrations differ:\n only in SQLite: {:?}\n only in PostgreSQL: {:?}",
            only(&sqlite, &postgres),
            only(&postgres, &sqlite)
        );
    }
    b.close().await;
}

/// Azure role definitions share `role_definitions` with directory roles, told apart by the
/// dialect column (issue #15): they round-trip with ARM's properties (four permission lists,
/// conditions, assignable scopes, authors) in the v2 permissions format while directory rows
/// keep v1; names are unique per dialect (Entra and Azure both have "Security Reader") and,
/// among Azure roles, case-insensitively; Graph's list shows directory roles only; the index
/// loads both.
#[tokio::test]
async fn azure_role_definitions_round_trip_beside_directory_roles() {
    use openpim_core::roles::{azure, PermissionDialect};
    let b = Backends::open().await;
    for (backend, store, url) in &b.stores {
        seed(store).await;
        let security_reader = openpim_core::azure_catalog::builtin_role_by_name("Security Reader").unwrap();
        let builtin = azure::from_catalog(security_reader, T0);
        let with_condition = openpim_core::azure_catalog::builtin_role_by_name("Key Vault Data Access Administrator")
            .map(|r| azure::from_catalog(r, T0))
            .unwrap();
        let custom = azure::CustomRoleWrite {
            id: id(900),
            scope: Some(ArmScope::parse("/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d").unwrap()),
            role_name: "Blob Reader (JIT)".into(),
            description: "reads blobs".into(),
            role_type: None,
            assignable_scopes: vec!["/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d".into()],
            permissions: vec![openpim_core::roles::RolePermission {
                allowed_resource_actions: vec!["Microsoft.Storage/storageAccounts/read".into()],
                allowed_data_actions: vec![
                    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read".into()
                ],
                ..Default::default()
            }],
        }
        .build(None, id(1), T0)
        .unwrap();
        let mut tx = store.begin_write().await.unwrap();
        for r in [&builtin, &with_condition, &custom] {
            tx.insert_role_definition(r).await.unwrap();
        }
        tx.commit(&record("azure roles"), |_| {}).await.unwrap();
        // Same name as a custom Azure role in another case: refused by the database.
        let mut twin = custom.clone();
        twin.id = id(901);
        twin.display_name = "BLOB READER (jit)".into();
        let mut tx = store.begin_write().await.unwrap();
        let refused = tx.insert_role_definition(&twin).await.unwrap_err();
        assert!(matches!(refused, openpim_store::StoreError::Conflict(_)), "{backend}: {refused}");
        drop(tx);
        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(tx.azure_role_named("blob reader (JIT)").await.unwrap(), Some(custom.id), "{backend}");
        assert_eq!(tx.count_custom_azure_roles().await.unwrap(), 1, "{backend}");
        drop(tx);

        for r in [&builtin, &with_condition, &custom] {
            assert_eq!(
                store.azure_role_definition(r.id).await.unwrap().as_ref(),
                Some(r),
                "{backend}: {}",
                r.display_name
            );
            assert_eq!(store.get_role_definition(r.id).await.unwrap().as_ref(), Some(r), "{backend}");
            assert_eq!(
                store.get_directory_role_definition(r.id).await.unwrap(),
                None,
                "{backend}: Graph never sees it"
            );
        }
        assert_eq!(
            store.azure_role_definition_by_name("security READER").await.unwrap().map(|r| r.id),
            Some(builtin.id),
            "{backend}"
        );
        // The directory's Security Reader is still there, and still a directory role.
        let entra = catalog::builtin_roles(T0).into_iter().find(|r| r.display_name == "Security Reader").unwrap();
        let graph = store.get_directory_role_definition(entra.id).await.unwrap().unwrap();
        assert_eq!(graph.dialect, PermissionDialect::Directory, "{backend}");
        assert_eq!(store.azure_role_definition(entra.id).await.unwrap(), None, "{backend}");

        let all = store.azure_role_definitions().await.unwrap();
        let names: Vec<&str> = all.iter().map(|r| r.display_name.as_str()).collect();
        assert_eq!(names, ["Blob Reader (JIT)", "Key Vault Data Access Administrator", "Security Reader"], "{backend}");
        let graph_list = store
            .list_role_definitions(&ListRequest { filter: None, orderby: &[], top: 999, offset: 0, count: false })
            .await
            .unwrap();
        assert!(graph_list.items.iter().all(|r| r.dialect == PermissionDialect::Directory), "{backend}");
        assert_eq!(graph_list.items.len(), catalog::builtin_roles(T0).len(), "{backend}");

        // Stored formats: v1 (bare array) for directory roles, v2 for Azure roles.
        let raw = |id: ObjectId| format!("SELECT role_permissions FROM role_definitions WHERE id = '{id}'");
        assert!(raw_column(url, &raw(entra.id)).await.starts_with("[{\"allowedResourceActions\""), "{backend}");
        assert!(raw_column(url, &raw(custom.id)).await.starts_with("{\"v\":2,"), "{backend}");
        let dialect =
            raw_column(url, &format!("SELECT dialect FROM role_definitions WHERE id = '{}'", custom.id)).await;
        assert_eq!(dialect, "Azure", "{backend}");

        let loaded = store.load_index().await.unwrap();
        let azure_in_index = loaded
            .iter()
            .filter(|u| matches!(u, IndexUpdate::RoleDefinitionSaved(r) if r.dialect == PermissionDialect::Azure))
            .count();
        assert_eq!(azure_in_index, 3, "{backend}");

        // Deleting a custom role with an ended schedule removes that schedule with it.
        let mut tx = store.begin_write().await.unwrap();
        let mut ended = schedule(
            300,
            Kind::Assignment,
            (id(1), ObjectKind::User),
            custom.id,
            DirectoryScope::Tenant,
            None,
            ScheduleStatus::Expired,
        );
        ended.scope = Scope::Arm(ArmScope::parse("/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d").unwrap());
        tx.insert_schedule(&ended).await.unwrap();
        let mut live = ended.clone();
        live.id = id(301);
        live.status = ScheduleStatus::Provisioned;
        tx.insert_schedule(&live).await.unwrap();
        assert_eq!(tx.count_live_schedules_of_role(custom.id).await.unwrap(), 1, "{backend}");
        tx.remove_schedule(&live).await.unwrap();
        assert_eq!(tx.count_live_schedules_of_role(custom.id).await.unwrap(), 0, "{backend}");
        tx.delete_ended_schedules_of_role(custom.id).await.unwrap();
        tx.delete_role_definition(custom.id).await.unwrap();
        tx.commit(&record("delete azure role"), |_| {}).await.unwrap();
        assert_eq!(store.azure_role_definition(custom.id).await.unwrap(), None, "{backend}");
        assert_eq!(store.get_schedule(Kind::Assignment, ended.id).await.unwrap(), None, "{backend}");
    }
    b.close().await;
}
