//! The `azureResources` provider's resources: every management group, subscription, resource
//! group and resource of the Azure hierarchy OpenPIM holds (`crate::azure::hierarchy`), named by
//! core's stable governance id (UUID v5 of the ARM scope, `governance::ids`). Nothing is stored
//! for the beta view: the list is read from the hierarchy tables each time.
//!
//! Who sees what: a resource is visible to a caller who holds any Azure role at it or above
//! (ARM's rule for `GET /subscriptions`, [`holds_active_role`]) or is eligible for one there or
//! above, directly or through a group (what the portal's "My roles" lists, so an eligible user
//! finds what to activate) ([`Viewer`]); an invisible resource answers exactly as a missing one
//! does, so the answer tells nobody more than they may read.

use crate::error::ApiResult;
use crate::state::AppState;
use openpim_core::azure_resources::{subscription_scope, ManagementGroup};
use openpim_core::governance::ids::azure_resource_id;
use openpim_core::schedule::Kind;
use openpim_core::scope::{ArmScope, ArmScopeKind};
use openpim_core::{Instant, ObjectId};
use openpim_proto::governance as proto;

/// One Azure scope as the beta API describes it.
#[derive(Debug, Clone)]
pub struct AzureResource {
    pub scope: ArmScope,
    /// `managementgroup`, `subscription`, `resourcegroup`, or the resource type
    /// (`Microsoft.Storage/storageAccounts`), as Microsoft's service spells them.
    pub kind: String,
    pub display_name: String,
    /// When it came under OpenPIM (created or registered; a management group's last update,
    /// the only time OpenPIM keeps for it).
    pub registered: Instant,
}

impl AzureResource {
    pub fn id(&self) -> ObjectId {
        azure_resource_id(&self.scope)
    }

    /// The governanceResource: `registeredRoot` is the registered ancestor, the subscription
    /// for everything inside one (what Microsoft's list answers), the group itself for a
    /// management group.
    pub fn render(&self) -> proto::GovernanceResource {
        let root = match self.scope.subscription_id() {
            Some(sub) => subscription_scope(sub).as_str().to_string(),
            None => self.scope.as_str().to_string(),
        };
        proto::GovernanceResource {
            id: self.id(),
            external_id: self.scope.as_str().to_string(),
            kind: self.kind.clone(),
            display_name: self.display_name.clone(),
            status: "Active".into(),
            registered_date_time: Some(self.registered),
            registered_root: Some(root),
            parent: None,
        }
    }
}

fn group(g: ManagementGroup) -> Option<AzureResource> {
    Some(AzureResource {
        scope: g.scope().ok()?,
        kind: "managementgroup".into(),
        display_name: g.display_name,
        registered: g.updated,
    })
}

/// Every Azure scope OpenPIM holds, management groups first, then each subscription followed
/// by its resource groups and resources.
pub async fn all(s: &AppState) -> ApiResult<Vec<AzureResource>> {
    let mut out: Vec<AzureResource> = s.store.list_management_groups().await?.into_iter().filter_map(group).collect();
    for sub in s.store.list_subscriptions().await? {
        let id = sub.id;
        out.push(AzureResource {
            scope: sub.scope(),
            kind: "subscription".into(),
            display_name: sub.display_name,
            registered: sub.created,
        });
        for rg in s.store.list_resource_groups(id).await? {
            let Ok(scope) = rg.scope() else { continue };
            out.push(AzureResource {
                scope,
                kind: "resourcegroup".into(),
                display_name: rg.name,
                registered: rg.created,
            });
        }
        for r in s.store.list_resources_in_subscription(id).await? {
            out.push(AzureResource { scope: r.id, kind: r.resource_type, display_name: r.name, registered: r.created });
        }
    }
    Ok(out)
}

/// The governance id of the resource a row at `scope` belongs to: the Azure resource of an ARM
/// scope, the location's (the tenant) otherwise.
pub fn governance_id(loc: &super::Location, scope: &openpim_core::scope::Scope) -> ObjectId {
    scope.as_arm().map_or(loc.resource, azure_resource_id)
}

/// Does `caller` hold any Azure role at `scope` or above (active now)? What registering a
/// resource needs.
pub fn holds_active_role(s: &AppState, caller: ObjectId, scope: &ArmScope) -> bool {
    s.index().holds_any_role_covering(caller, scope, s.now())
}

/// What one caller may see of the hierarchy: read once (their live ARM eligibilities), then
/// asked per scope.
pub struct Viewer {
    caller: ObjectId,
    eligible_at: Vec<ArmScope>,
}

impl Viewer {
    pub async fn of(s: &AppState, caller: ObjectId) -> ApiResult<Self> {
        let principals: Vec<ObjectId> =
            std::iter::once(caller).chain(s.index().security_groups_of(caller).iter().copied()).collect();
        let now = s.now();
        let rows = s.store.arm_schedules(Kind::Eligibility, Some(&principals)).await?;
        let eligible_at =
            rows.into_iter().filter(|e| !e.has_ended(now)).filter_map(|e| e.scope.as_arm().cloned()).collect();
        Ok(Viewer { caller, eligible_at })
    }

    /// An active role, or an eligibility, at `scope` or above.
    pub fn sees(&self, s: &AppState, scope: &ArmScope) -> bool {
        if holds_active_role(s, self.caller, scope) {
            return true;
        }
        let index = s.index();
        self.eligible_at.iter().any(|at| at.covers(scope, index.management_groups()))
    }
}

/// May `caller` read the resource at `scope`?
pub async fn visible(s: &AppState, caller: ObjectId, scope: &ArmScope) -> ApiResult<bool> {
    Ok(Viewer::of(s, caller).await?.sees(s, scope))
}

/// The resources `caller` may read.
pub async fn visible_to(s: &AppState, caller: ObjectId) -> ApiResult<Vec<AzureResource>> {
    let viewer = Viewer::of(s, caller).await?;
    Ok(all(s).await?.into_iter().filter(|r| viewer.sees(s, &r.scope)).collect())
}

/// The resource with governance id `raw`, if OpenPIM holds it (visible or not).
pub async fn find(s: &AppState, raw: &str) -> ApiResult<Option<AzureResource>> {
    let Ok(id) = ObjectId::parse_str(raw) else { return Ok(None) };
    Ok(all(s).await?.into_iter().find(|r| r.id() == id))
}

/// The resource at ARM scope `scope` (any casing), if OpenPIM holds it.
pub async fn at_scope(s: &AppState, scope: &ArmScope) -> ApiResult<Option<AzureResource>> {
    Ok(all(s).await?.into_iter().find(|r| r.scope.key() == scope.key()))
}

/// The resource directly above `r` among `all` (none above a top-level management group).
pub fn parent_in<'a>(s: &AppState, all: &'a [AzureResource], r: &AzureResource) -> Option<&'a AzureResource> {
    let above = r.scope.parent_in(s.index().management_groups())?;
    if above.kind() == ArmScopeKind::Root {
        return None;
    }
    all.iter().find(|x| x.scope.key() == above.key())
}
