//! Rows both role worlds show, so one partial renders the directory's and Azure's alike:
//! My roles' active rows (`role_row.html`), eligible cards (`eligible_card.html`) and pending
//! requests (`pending_row.html`), and the holder tables of a role's page and of an Azure scope's
//! page (`holder_sections.html`, `holder_row.html`). The pages fill them; only what differs
//! between the worlds (where a form posts, which columns a table has) is a field.

use super::my_roles::Requirements;

/// An active role of the signed-in user.
pub struct ActiveRow {
    /// A unique id prefix for this row's form fields.
    pub key: String,
    pub role_id: String,
    pub role_name: String,
    pub scope: String,
    pub scope_label: String,
    pub assignment_type: String,
    pub member_type: String,
    pub start: String,
    pub end: String,
    pub can_deactivate: bool,
    pub can_extend: bool,
    /// Where Deactivate posts (`/deactivate`, `/azure/deactivate`).
    pub deactivate_action: &'static str,
    /// The Deactivate button's accessible name.
    pub deactivate_label: String,
}

/// A role the signed-in user is eligible for, with its activation form.
pub struct EligibleRow {
    pub key: String,
    pub role_id: String,
    pub role_name: String,
    pub scope: String,
    pub scope_label: String,
    pub member_type: String,
    pub end: String,
    pub can_extend: bool,
    pub reqs: Requirements,
    /// Where Activate posts (`/activate`, `/azure/activate`).
    pub activate_action: &'static str,
    /// Azure: the scopes it can be activated at (id, label), the eligibility's first; empty
    /// where it is activated at its own scope only.
    pub children: Vec<(String, String)>,
    /// The card's heading level (it sits under an h2, or under an h3 in the Azure section).
    pub level: u8,
}

/// An activation of the signed-in user waiting for approval.
pub struct PendingRow {
    /// The request to cancel: Graph's request id, or ARM's request name.
    pub id: String,
    pub role_name: String,
    pub scope: String,
    pub scope_label: String,
    pub status: String,
    pub created: String,
    pub justification: String,
    /// Where Cancel posts (`/cancel`, `/azure/cancel`).
    pub cancel_action: &'static str,
}

/// Someone who holds a role, in a role's or a scope's holder table.
pub struct HolderRow {
    pub key: String,
    pub principal: String,
    pub principal_id: String,
    /// User, Group, ...
    pub principal_type: String,
    /// Azure: the role's id (sent by the forms) and name; empty on a role's own page.
    pub role_id: String,
    pub role_name: String,
    /// Azure: the role's settings at this scope.
    pub role_href: String,
    pub member_type: String,
    pub assignment_type: String,
    pub scope: String,
    pub scope_label: String,
    pub start: String,
    pub end: String,
    /// The forms to remove and update it are shown (a direct holding the caller may change).
    pub editable: bool,
    /// What the actions cell says otherwise.
    pub note: String,
}

/// Eligible or active holders, as one table.
pub struct HolderSection {
    /// `eligible` or `active`: what the remove/update forms send, and the section's id.
    pub kind: &'static str,
    pub title: &'static str,
    pub rows: Vec<HolderRow>,
    /// The table has a Role column (a scope's page lists every role).
    pub with_role: bool,
    pub remove_action: String,
    pub update_action: String,
    /// The update form offers a duration in days (Azure's) besides a new end.
    pub update_days: bool,
}

/// Where a holder table's forms post and what it shows besides the common columns.
pub struct HolderForms {
    pub remove_action: String,
    pub update_action: String,
    pub with_role: bool,
    pub update_days: bool,
}

impl HolderSection {
    /// One table: `eligible` or `active` (anything else reads as active).
    pub fn one(kind: &str, rows: Vec<HolderRow>, forms: &HolderForms) -> HolderSection {
        let (kind, title) = match kind {
            "eligible" => ("eligible", "Eligible assignments"),
            _ => ("active", "Active assignments"),
        };
        HolderSection {
            kind,
            title,
            rows,
            with_role: forms.with_role,
            remove_action: forms.remove_action.clone(),
            update_action: forms.update_action.clone(),
            update_days: forms.update_days,
        }
    }
}
