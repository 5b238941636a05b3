//! Direct role assignments: the rules for giving a principal a role at a scope.

use crate::applications::ServicePrincipal;
use crate::directory::{Group, User};
use crate::error::{DomainError, DomainResult};
use crate::roles::RoleDefinition;
use crate::ObjectId;

/// The principal an assignment is for, as found in the directory.
#[derive(Debug, Clone, Copy)]
pub enum PrincipalRef<'a> {
    User(&'a User),
    Group(&'a Group),
    ServicePrincipal(&'a ServicePrincipal),
}

/// Checks a new assignment of `role` to `principal`. The caller looks the objects up and says
/// whether an identical assignment already exists; the rules are decided here.
pub fn check_new_assignment(
    principal_id: ObjectId,
    principal: Option<PrincipalRef<'_>>,
    role_id: ObjectId,
    role: Option<&RoleDefinition>,
    duplicate_exists: bool,
) -> DomainResult<()> {
    let principal = principal.ok_or_else(|| {
        DomainError::invalid(
            "Request_BadRequest",
            format!("The principal '{principal_id}' does not exist or is not a user, group or service principal."),
        )
    })?;
    if let PrincipalRef::Group(g) = principal {
        if !g.is_assignable_to_role {
            return Err(DomainError::invalid(
                "Request_BadRequest",
                format!(
                    "The group '{}' cannot be assigned a role: only groups created with \
                     isAssignableToRole set to true can hold directory roles.",
                    g.display_name
                ),
            ));
        }
    }
    let role = role.ok_or_else(|| {
        DomainError::invalid("RoleDefinitionDoesNotExist", format!("The role definition '{role_id}' does not exist."))
    })?;
    if !role.is_enabled {
        return Err(DomainError::bad_request(format!(
            "The role definition '{}' is disabled and cannot be assigned.",
            role.display_name
        )));
    }
    if duplicate_exists {
        return Err(DomainError::conflict(
            "RoleAssignmentExists",
            "The role assignment already exists: this principal already holds this role at this scope.",
        ));
    }
    Ok(())
}

/// The tenant must keep at least one enabled user who holds Global Administrator at the tenant
/// scope, active and permanent (no end), directly or through a role-assignable group: without one,
/// every administrator is locked out for good (a time-bound holder would lock it out at its end).
/// The store counts such holders after every write that could change the answer (its
/// `invariants` module, run inside the write transaction) and refuses the write when none is left.
pub fn check_global_administrator_remains(permanent_holders: u64) -> DomainResult<()> {
    if permanent_holders == 0 {
        return Err(DomainError::invalid(
            "LastGlobalAdministrator",
            "This is the last Global Administrator assignment: assign the role to someone else before removing it.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use crate::directory::NewGroup;
    use time::macros::datetime;

    #[test]
    fn rules_for_direct_assignments() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let role = catalog::builtin_roles(now).into_iter().next().unwrap();
        let group = |assignable| {
            NewGroup {
                display_name: Some("g".into()),
                mail_enabled: Some(false),
                security_enabled: Some(true),
                is_assignable_to_role: Some(assignable),
                ..Default::default()
            }
            .build(ObjectId::new_v4(), now)
            .unwrap()
        };
        let plain = group(false);
        let assignable = group(true);
        let pid = ObjectId::new_v4();
        let e = check_new_assignment(pid, None, role.id, Some(&role), false).unwrap_err();
        assert!(e.message.contains("does not exist"));
        let e =
            check_new_assignment(plain.id, Some(PrincipalRef::Group(&plain)), role.id, Some(&role), false).unwrap_err();
        assert!(e.message.contains("isAssignableToRole"));
        check_new_assignment(assignable.id, Some(PrincipalRef::Group(&assignable)), role.id, Some(&role), false)
            .unwrap();
        let e = check_new_assignment(assignable.id, Some(PrincipalRef::Group(&assignable)), role.id, None, false)
            .unwrap_err();
        assert_eq!(e.code, "RoleDefinitionDoesNotExist");
        let e = check_new_assignment(assignable.id, Some(PrincipalRef::Group(&assignable)), role.id, Some(&role), true)
            .unwrap_err();
        assert_eq!(e.code, "RoleAssignmentExists");
        let mut disabled = role.clone();
        disabled.is_enabled = false;
        assert!(check_new_assignment(
            assignable.id,
            Some(PrincipalRef::Group(&assignable)),
            role.id,
            Some(&disabled),
            false
        )
        .is_err());
    }

    #[test]
    fn the_last_global_administrator_stays() {
        assert_eq!(check_global_administrator_remains(0).unwrap_err().code, "LastGlobalAdministrator");
        check_global_administrator_remains(1).unwrap();
        check_global_administrator_remains(2).unwrap();
    }
}
