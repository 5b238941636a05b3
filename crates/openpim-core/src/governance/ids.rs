//! Governance ids. The beta API names things with its own GUIDs where v1.0 and ARM use scope
//! strings; these mappings are stable (the same thing always gets the same id, on every node,
//! with nothing stored) and, where they can be, the ids the other views already use, so the two
//! APIs name the same thing the same way:
//!
//! | beta | id |
//! |---|---|
//! | aadRoles governanceResource | the tenant id (as Microsoft's own service answers) |
//! | azureResources governanceResource | UUID v5 of the ARM scope's canonical (case-folded) form, in [`RESOURCE_NAMESPACE`]; `externalId` is the scope string |
//! | governanceRoleDefinition | the role definition's id (v1.0 unifiedRoleDefinition id; the ARM role GUID); `resourceId` tells the resource |
//! | governanceRoleSetting | the policy's id (v1.0 unifiedRoleManagementPolicy id; ARM roleManagementPolicy name) |
//! | governanceRoleAssignment | the eligibility or assignment schedule's id (v1.0 `roleEligibilitySchedules/{id}`, `roleAssignmentSchedules/{id}`) |
//! | governanceRoleAssignmentRequest | the schedule request's id |
//! | governanceSubject | the principal's object id |

use crate::scope::ArmScope;
use crate::ObjectId;

/// The namespace of azureResources governanceResource ids (a fixed random UUID, OpenPIM's own).
pub const RESOURCE_NAMESPACE: ObjectId = ObjectId::from_u128(0x6f0d_8c55_2f0e_4a8e_9a47_51b2_c6d3_e1f4);

/// The governanceResource id of an ARM scope: scopes that ARM treats as equal (any casing) get
/// the same id.
pub fn azure_resource_id(scope: &ArmScope) -> ObjectId {
    ObjectId::new_v5(&RESOURCE_NAMESPACE, scope.key().as_bytes())
}

/// The ARM id of Azure role `role` read at `scope`
/// (`{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`): a governanceRoleDefinition's
/// `externalId` under an azureResources resource. At the root scope `/` the id has no prefix.
pub fn azure_role_definition_external_id(scope: &ArmScope, role: ObjectId) -> String {
    scope.resource_id("roleDefinitions", role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_matches_the_rfc_example() {
        // RFC 9562 appendix A.4: the DNS namespace and "www.example.com".
        let dns = ObjectId::parse_str("6ba7b810-9dad-11d1-80b4-00c04fd430c8").unwrap();
        assert_eq!(ObjectId::new_v5(&dns, b"www.example.com").to_string(), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
    }

    #[test]
    fn resource_ids_are_stable_and_ignore_case() {
        let a = ArmScope::parse("/subscriptions/c14ae696-5e0c-4e5d-88cc-bef6637737ac/resourceGroups/RG1").unwrap();
        let b = ArmScope::parse("/SUBSCRIPTIONS/C14AE696-5E0C-4E5D-88CC-BEF6637737AC/resourcegroups/rg1").unwrap();
        let c = ArmScope::parse("/subscriptions/c14ae696-5e0c-4e5d-88cc-bef6637737ac").unwrap();
        assert_eq!(azure_resource_id(&a), azure_resource_id(&b));
        assert_ne!(azure_resource_id(&a), azure_resource_id(&c));
        assert_eq!(azure_resource_id(&a).get_version_num(), 5);
    }

    #[test]
    fn role_definition_external_ids_hang_under_the_scope() {
        let role = ObjectId::parse_str("acdd72a7-3385-48ef-bd42-f606fba81ae7").unwrap();
        let sub = ArmScope::parse("/subscriptions/c14ae696-5e0c-4e5d-88cc-bef6637737ac").unwrap();
        assert_eq!(
            azure_role_definition_external_id(&sub, role),
            "/subscriptions/c14ae696-5e0c-4e5d-88cc-bef6637737ac/providers/Microsoft.Authorization/roleDefinitions/\
             acdd72a7-3385-48ef-bd42-f606fba81ae7"
        );
        assert_eq!(
            azure_role_definition_external_id(&ArmScope::root(), role),
            "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
        );
    }
}
