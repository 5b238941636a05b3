//! The directory: users, groups, administrative units, and the rules for changing them.

use crate::error::{DomainError, DomainResult};
use crate::{Instant, ObjectId};

/// The kinds of directory object that can hold a role or be a member of something.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(serialize_all = "camelCase")]
pub enum ObjectKind {
    User,
    Group,
    ServicePrincipal,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Graph's `userType`: a member of the organisation or a guest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, strum::Display, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(ascii_case_insensitive)]
pub enum UserType {
    #[default]
    Member,
    Guest,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Most instant-messaging addresses a user may carry (Graph does not document a limit).
pub const MAX_IM_ADDRESSES: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: ObjectId,
    pub user_principal_name: String,
    pub display_name: String,
    pub mail_nickname: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub account_enabled: bool,
    pub user_type: UserType,
    /// Graph's `imAddresses` (SIP addresses), in the order given.
    pub im_addresses: Vec<String>,
    pub created: Instant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: ObjectId,
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: String,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    /// Set only at creation; members of such a group can hold directory roles through it.
    pub is_assignable_to_role: bool,
    /// A Microsoft 365 group (`groupTypes: ["Unified"]`), set only at creation. It changes no
    /// rule of OpenPIM's beyond being mail-enabled: Graph lets a Microsoft 365 group be
    /// role-assignable (in v1.0 and beta alike) when it is also security-enabled.
    pub unified: bool,
    pub created: Instant,
}

/// Graph's `groupTypes` member for a Microsoft 365 group.
pub const UNIFIED: &str = "Unified";
/// Graph's `groupTypes` member for dynamic membership, which OpenPIM does not evaluate.
pub const DYNAMIC_MEMBERSHIP: &str = "DynamicMembership";

impl Group {
    /// Graph's `groupTypes`.
    pub fn group_types(&self) -> Vec<String> {
        if self.unified {
            vec![UNIFIED.to_string()]
        } else {
            Vec::new()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdministrativeUnit {
    pub id: ObjectId,
    pub display_name: String,
    pub description: Option<String>,
    pub created: Instant,
}

/// Fields a client may supply for a new user; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub mail_nickname: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub account_enabled: Option<bool>,
    /// Raw `userType` as sent (checked by [`NewUser::build`]).
    pub user_type: Option<String>,
    pub im_addresses: Option<Vec<String>>,
}

/// A partial update: outer `None` = leave as is; `Some(None)` = clear an optional field.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub mail_nickname: Option<String>,
    pub given_name: Option<Option<String>>,
    pub surname: Option<Option<String>>,
    pub mail: Option<Option<String>>,
    pub job_title: Option<Option<String>>,
    pub department: Option<Option<String>>,
    pub account_enabled: Option<bool>,
    pub user_type: Option<String>,
    pub im_addresses: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub mail_nickname: Option<String>,
    pub mail_enabled: Option<bool>,
    pub security_enabled: Option<bool>,
    pub is_assignable_to_role: Option<bool>,
    /// Graph's `groupTypes` as sent.
    pub group_types: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    pub mail_nickname: Option<String>,
    pub security_enabled: Option<bool>,
    pub mail_enabled: Option<bool>,
    /// Present only to be rejected when it would change: the flag is immutable.
    pub is_assignable_to_role: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct NewAdministrativeUnit {
    pub display_name: Option<String>,
    pub description: Option<String>,
}

/// A partial update of an administrative unit: outer `None` = leave as is; `Some(None)` = clear.
#[derive(Debug, Clone, Default)]
pub struct AdministrativeUnitPatch {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
}

const MAX_NAME: usize = 256;
const MAX_UPN: usize = 113 + 1 + 255;

pub(crate) fn required(field: &str, value: Option<String>) -> DomainResult<String> {
    match value {
        Some(v) if !v.trim().is_empty() => checked_text(field, v),
        _ => Err(DomainError::bad_request(format!(
            "Invalid value specified for property '{field}': a non-empty value is required."
        ))),
    }
}

fn checked_text(field: &str, v: String) -> DomainResult<String> {
    if v.chars().count() > MAX_NAME && field != "description" {
        return Err(DomainError::bad_request(format!(
            "Invalid value specified for property '{field}': longer than {MAX_NAME} characters."
        )));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(DomainError::bad_request(format!(
            "Invalid value specified for property '{field}': control characters are not allowed."
        )));
    }
    Ok(v)
}

pub(crate) fn optional(field: &str, v: Option<String>) -> DomainResult<Option<String>> {
    v.map(|v| checked_text(field, v)).transpose()
}

/// A user principal name is `alias@domain`: one '@', no spaces, a dotted domain.
pub fn validate_upn(upn: &str) -> DomainResult<()> {
    let bad = || {
        DomainError::bad_request(format!(
            "Invalid value specified for property 'userPrincipalName' of resource 'User': '{upn}'."
        ))
    };
    let (alias, domain) = upn.split_once('@').ok_or_else(bad)?;
    let alias_ok = !alias.is_empty()
        && alias.len() <= 113
        && !alias.starts_with('.')
        && !alias.ends_with('.')
        && alias.chars().all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c));
    let domain_ok = domain.contains('.')
        && upn.len() <= MAX_UPN
        && domain
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if alias_ok && domain_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

fn nickname_from(upn_or_name: &str) -> String {
    let base = upn_or_name.split('@').next().unwrap_or_default();
    let nick: String =
        base.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-' || *c == '_').collect();
    if nick.is_empty() {
        "object".to_string()
    } else {
        nick.chars().take(64).collect()
    }
}

impl NewUser {
    pub fn build(self, id: ObjectId, now: Instant) -> DomainResult<User> {
        let upn = required("userPrincipalName", self.user_principal_name)?;
        validate_upn(&upn)?;
        let display_name = required("displayName", self.display_name)?;
        let mail_nickname = match self.mail_nickname {
            Some(n) => required("mailNickname", Some(n))?,
            None => nickname_from(&upn),
        };
        Ok(User {
            id,
            user_principal_name: upn,
            display_name,
            mail_nickname,
            given_name: optional("givenName", self.given_name)?,
            surname: optional("surname", self.surname)?,
            mail: optional("mail", self.mail)?,
            job_title: optional("jobTitle", self.job_title)?,
            department: optional("department", self.department)?,
            account_enabled: self.account_enabled.unwrap_or(true),
            user_type: self.user_type.as_deref().map(user_type).transpose()?.unwrap_or_default(),
            im_addresses: self.im_addresses.map(im_addresses).transpose()?.unwrap_or_default(),
            created: now,
        })
    }
}

fn user_type(raw: &str) -> DomainResult<UserType> {
    raw.parse::<UserType>().map_err(|_| {
        DomainError::bad_request(format!(
            "Invalid value specified for property 'userType' of resource 'User': '{raw}'; use Member or Guest."
        ))
    })
}

fn im_addresses(list: Vec<String>) -> DomainResult<Vec<String>> {
    if list.len() > MAX_IM_ADDRESSES {
        return Err(DomainError::bad_request(format!(
            "Invalid value specified for property 'imAddresses': at most {MAX_IM_ADDRESSES} addresses."
        )));
    }
    list.into_iter()
        .map(|a| {
            if a.trim().is_empty() {
                Err(DomainError::bad_request("Invalid value specified for property 'imAddresses': an empty address."))
            } else {
                checked_text("imAddresses", a)
            }
        })
        .collect()
}

impl UserPatch {
    pub fn is_empty(&self) -> bool {
        self.user_principal_name.is_none()
            && self.display_name.is_none()
            && self.mail_nickname.is_none()
            && self.given_name.is_none()
            && self.surname.is_none()
            && self.mail.is_none()
            && self.job_title.is_none()
            && self.department.is_none()
            && self.account_enabled.is_none()
            && self.user_type.is_none()
            && self.im_addresses.is_none()
    }

    /// Applies the patch to a copy of `user`, validating every changed field.
    pub fn apply(self, user: &User) -> DomainResult<User> {
        let mut next = user.clone();
        if let Some(upn) = self.user_principal_name {
            let upn = required("userPrincipalName", Some(upn))?;
            validate_upn(&upn)?;
            next.user_principal_name = upn;
        }
        if let Some(v) = self.display_name {
            next.display_name = required("displayName", Some(v))?;
        }
        if let Some(v) = self.mail_nickname {
            next.mail_nickname = required("mailNickname", Some(v))?;
        }
        if let Some(v) = self.given_name {
            next.given_name = optional("givenName", v)?;
        }
        if let Some(v) = self.surname {
            next.surname = optional("surname", v)?;
        }
        if let Some(v) = self.mail {
            next.mail = optional("mail", v)?;
        }
        if let Some(v) = self.job_title {
            next.job_title = optional("jobTitle", v)?;
        }
        if let Some(v) = self.department {
            next.department = optional("department", v)?;
        }
        if let Some(v) = self.account_enabled {
            next.account_enabled = v;
        }
        if let Some(v) = self.user_type {
            next.user_type = user_type(&v)?;
        }
        if let Some(v) = self.im_addresses {
            next.im_addresses = im_addresses(v)?;
        }
        Ok(next)
    }
}

impl NewGroup {
    pub fn build(self, id: ObjectId, now: Instant) -> DomainResult<Group> {
        let display_name = required("displayName", self.display_name)?;
        let mail_enabled = self
            .mail_enabled
            .ok_or_else(|| DomainError::bad_request("Property 'mailEnabled' is required when creating a group."))?;
        let security_enabled = self
            .security_enabled
            .ok_or_else(|| DomainError::bad_request("Property 'securityEnabled' is required when creating a group."))?;
        let is_assignable_to_role = self.is_assignable_to_role.unwrap_or(false);
        if is_assignable_to_role && !security_enabled {
            return Err(DomainError::bad_request(
                "A group with isAssignableToRole set to true must be a security group: \
                 securityEnabled must be true.",
            ));
        }
        if !mail_enabled && !security_enabled {
            return Err(DomainError::bad_request("A group must be mail-enabled, security-enabled, or both."));
        }
        let unified = unified(self.group_types.unwrap_or_default())?;
        if unified && !mail_enabled {
            return Err(DomainError::bad_request(
                "A Microsoft 365 group (groupTypes 'Unified') must be mail-enabled: mailEnabled must be true.",
            ));
        }
        let mail_nickname = match self.mail_nickname {
            Some(n) => required("mailNickname", Some(n))?,
            None => nickname_from(&display_name),
        };
        Ok(Group {
            id,
            display_name,
            description: optional("description", self.description)?,
            mail_nickname,
            mail_enabled,
            security_enabled,
            is_assignable_to_role,
            unified,
            created: now,
        })
    }
}

/// Reads `groupTypes`: empty (a security or distribution group) or `Unified` (a Microsoft 365
/// group), as Graph spells them in any casing. Dynamic membership rules are not evaluated here,
/// so such a group is refused rather than created with members nobody maintains.
fn unified(group_types: Vec<String>) -> DomainResult<bool> {
    let mut unified = false;
    for t in group_types {
        if t.eq_ignore_ascii_case(UNIFIED) {
            unified = true;
        } else if t.eq_ignore_ascii_case(DYNAMIC_MEMBERSHIP) {
            return Err(DomainError::bad_request(
                "Dynamic membership groups (groupTypes 'DynamicMembership') are not supported.",
            ));
        } else {
            return Err(DomainError::bad_request(format!(
                "Invalid value '{t}' in groupTypes: the supported values are 'Unified' or none."
            )));
        }
    }
    Ok(unified)
}

impl GroupPatch {
    pub fn apply(self, group: &Group) -> DomainResult<Group> {
        if let Some(flag) = self.is_assignable_to_role {
            if flag != group.is_assignable_to_role {
                return Err(DomainError::bad_request(
                    "Property 'isAssignableToRole' can only be set when the group is created.",
                ));
            }
        }
        let mut next = group.clone();
        if let Some(v) = self.display_name {
            next.display_name = required("displayName", Some(v))?;
        }
        if let Some(v) = self.description {
            next.description = optional("description", v)?;
        }
        if let Some(v) = self.mail_nickname {
            next.mail_nickname = required("mailNickname", Some(v))?;
        }
        if let Some(v) = self.security_enabled {
            next.security_enabled = v;
        }
        if let Some(v) = self.mail_enabled {
            next.mail_enabled = v;
        }
        if next.is_assignable_to_role && !next.security_enabled {
            return Err(DomainError::bad_request("A role-assignable group must stay security-enabled."));
        }
        if next.unified && !next.mail_enabled {
            return Err(DomainError::bad_request("A Microsoft 365 group must stay mail-enabled."));
        }
        if !next.mail_enabled && !next.security_enabled {
            return Err(DomainError::bad_request("A group must be mail-enabled, security-enabled, or both."));
        }
        Ok(next)
    }
}

impl NewAdministrativeUnit {
    pub fn build(self, id: ObjectId, now: Instant) -> DomainResult<AdministrativeUnit> {
        Ok(AdministrativeUnit {
            id,
            display_name: required("displayName", self.display_name)?,
            description: optional("description", self.description)?,
            created: now,
        })
    }
}

impl AdministrativeUnitPatch {
    /// Applies the patch to a copy of `unit`, validating every changed field.
    pub fn apply(self, unit: &AdministrativeUnit) -> DomainResult<AdministrativeUnit> {
        let mut next = unit.clone();
        if let Some(v) = self.display_name {
            next.display_name = required("displayName", Some(v))?;
        }
        if let Some(v) = self.description {
            next.description = optional("description", v)?;
        }
        Ok(next)
    }
}

/// Checks that `member` (of kind `member_kind`) may join `group`.
///
/// Role-assignable groups take users and service principals only: Entra forbids nesting groups
/// in them, so that who holds a role through a group is always one membership hop away.
/// A group can never be a member of itself.
pub fn check_group_member(group: &Group, member: ObjectId, member_kind: ObjectKind) -> DomainResult<()> {
    if member == group.id {
        return Err(DomainError::bad_request("A group cannot be a member of itself."));
    }
    if group.is_assignable_to_role && member_kind == ObjectKind::Group {
        return Err(DomainError::bad_request(
            "Groups cannot be added as members of a role-assignable group (isAssignableToRole is true).",
        ));
    }
    Ok(())
}

/// Administrative units hold users and groups.
pub fn check_au_member(member_kind: ObjectKind) -> DomainResult<()> {
    match member_kind {
        ObjectKind::User | ObjectKind::Group => Ok(()),
        ObjectKind::ServicePrincipal => {
            Err(DomainError::bad_request("Only users and groups can be members of an administrative unit."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Instant {
        time::macros::datetime!(2026-01-01 00:00 UTC)
    }

    fn user(upn: &str) -> NewUser {
        NewUser { user_principal_name: Some(upn.into()), display_name: Some("Alice".into()), ..Default::default() }
    }

    #[test]
    fn new_user_needs_upn_and_name() {
        let u = user("alice@contoso.test").build(ObjectId::new_v4(), now()).unwrap();
        assert_eq!(u.mail_nickname, "alice");
        assert!(u.account_enabled);
        let e = NewUser { display_name: Some("x".into()), ..Default::default() }
            .build(ObjectId::new_v4(), now())
            .unwrap_err();
        assert!(e.message.contains("userPrincipalName"), "{e}");
        let e = NewUser {
            user_principal_name: Some("a@b.c".into()),
            display_name: Some("  ".into()),
            ..Default::default()
        }
        .build(ObjectId::new_v4(), now())
        .unwrap_err();
        assert!(e.message.contains("displayName"), "{e}");
    }

    #[test]
    fn upn_validation() {
        for ok in ["a@b.c", "first.last@contoso.onmicrosoft.com", "o'neil@x.io"] {
            validate_upn(ok).unwrap();
        }
        for bad in ["", "a", "a@", "@b.c", "a b@c.d", "a@b", "a@@b.c", "a@b..c", ".a@b.c", "a@b.c\n"] {
            assert!(validate_upn(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn role_assignable_groups_must_be_security_groups() {
        let g = NewGroup {
            display_name: Some("Admins".into()),
            mail_enabled: Some(false),
            security_enabled: Some(false),
            is_assignable_to_role: Some(true),
            ..Default::default()
        };
        let e = g.build(ObjectId::new_v4(), now()).unwrap_err();
        assert!(e.message.contains("securityEnabled"), "{e}");
    }

    #[test]
    fn is_assignable_to_role_is_immutable() {
        let g = NewGroup {
            display_name: Some("Admins".into()),
            mail_enabled: Some(false),
            security_enabled: Some(true),
            is_assignable_to_role: Some(true),
            ..Default::default()
        }
        .build(ObjectId::new_v4(), now())
        .unwrap();
        let e = GroupPatch { is_assignable_to_role: Some(false), ..Default::default() }.apply(&g).unwrap_err();
        assert!(e.message.contains("isAssignableToRole"));
        // Restating the same value is harmless.
        GroupPatch { is_assignable_to_role: Some(true), ..Default::default() }.apply(&g).unwrap();
        let e = GroupPatch { security_enabled: Some(false), ..Default::default() }.apply(&g).unwrap_err();
        assert!(e.message.contains("security-enabled"));
    }

    #[test]
    fn unit_patches_validate_what_they_change() {
        let unit = NewAdministrativeUnit { display_name: Some("West".into()), description: Some("d".into()) }
            .build(ObjectId::new_v4(), now())
            .unwrap();
        let e =
            AdministrativeUnitPatch { display_name: Some(" ".into()), ..Default::default() }.apply(&unit).unwrap_err();
        assert!(e.message.contains("displayName"), "{e}");
        let e = AdministrativeUnitPatch { display_name: Some("x".repeat(257)), ..Default::default() }
            .apply(&unit)
            .unwrap_err();
        assert!(e.message.contains("longer than"), "{e}");
        let next = AdministrativeUnitPatch { display_name: Some("East".into()), description: Some(None) }
            .apply(&unit)
            .unwrap();
        assert_eq!((next.display_name.as_str(), next.description.as_deref(), next.id), ("East", None, unit.id));
        // Nothing sent, nothing changed.
        assert_eq!(AdministrativeUnitPatch::default().apply(&unit).unwrap(), unit);
    }

    #[test]
    fn microsoft_365_groups_can_be_role_assignable_and_stay_mail_enabled() {
        let new = |group_types: Vec<&str>, mail_enabled| NewGroup {
            display_name: Some("Contoso_Helpdesk_Administrators".into()),
            mail_enabled: Some(mail_enabled),
            security_enabled: Some(true),
            is_assignable_to_role: Some(true),
            group_types: Some(group_types.into_iter().map(String::from).collect()),
            ..Default::default()
        };
        let g = new(vec!["unified"], true).build(ObjectId::new_v4(), now()).unwrap();
        assert!(g.unified && g.is_assignable_to_role);
        assert_eq!(g.group_types(), ["Unified"]);
        let e = GroupPatch { mail_enabled: Some(false), ..Default::default() }.apply(&g).unwrap_err();
        assert!(e.message.contains("mail-enabled"), "{e}");

        let e = new(vec!["Unified"], false).build(ObjectId::new_v4(), now()).unwrap_err();
        assert!(e.message.contains("mailEnabled"), "{e}");
        let e = new(vec!["Unified", "DynamicMembership"], true).build(ObjectId::new_v4(), now()).unwrap_err();
        assert!(e.message.contains("DynamicMembership"), "{e}");
        let e = new(vec!["Team"], true).build(ObjectId::new_v4(), now()).unwrap_err();
        assert!(e.message.contains("'Team'"), "{e}");
        let plain = new(vec![], true).build(ObjectId::new_v4(), now()).unwrap();
        assert!(!plain.unified && plain.group_types().is_empty());
    }

    #[test]
    fn no_groups_inside_role_assignable_groups() {
        let g = NewGroup {
            display_name: Some("Admins".into()),
            mail_enabled: Some(false),
            security_enabled: Some(true),
            is_assignable_to_role: Some(true),
            ..Default::default()
        }
        .build(ObjectId::new_v4(), now())
        .unwrap();
        assert!(check_group_member(&g, ObjectId::new_v4(), ObjectKind::Group).is_err());
        assert!(check_group_member(&g, g.id, ObjectKind::User).is_err());
        check_group_member(&g, ObjectId::new_v4(), ObjectKind::User).unwrap();
    }
}
