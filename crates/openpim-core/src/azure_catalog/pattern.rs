//! ARM permission patterns: `Microsoft.Compute/*`, `*/read`, `Microsoft.Network/*/read`.
//!
//! Semantics, from Microsoft's "Understand Azure role definitions" (MicrosoftDocs/azure-docs,
//! `articles/role-based-access-control/role-definitions.md`) and the notes in
//! `/work/shared/azure/arm-pim-api.md` §4: permission strings compare case-insensitively
//! (built-ins write `Microsoft.Authorization/*/Delete` for operations named `.../delete`), and `*`
//! matches any run of characters *including* `/`, since `Microsoft.Network/*/read` must cover
//! `Microsoft.Network/virtualNetworks/subnets/read` and `Microsoft.CostManagement/exports/*`
//! must cover `exports/run/action`.

/// Does the ARM permission `pattern` cover the operation `op`? Case-insensitive (ASCII, as
/// operation names are); each `*` matches any run of characters, `/` included, or none.
pub fn pattern_matches(pattern: &str, op: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), op.as_bytes());
    // Classic linear glob with one backtrack point: on a mismatch, let the last `*` seen absorb
    // one more character of `op`. Enough because `*` is the only metacharacter.
    let (mut pi, mut si) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            backtrack = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&s[si]) {
            pi += 1;
            si += 1;
        } else if let Some((star, matched_to)) = backtrack {
            pi = star + 1;
            si = matched_to + 1;
            backtrack = Some((star, si));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The part of `pattern` before its first `*`, which every covered operation starts with.
pub(super) fn literal_prefix(pattern: &str) -> &str {
    pattern.split('*').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_alone_covers_everything() {
        assert!(pattern_matches("*", "Microsoft.Compute/virtualMachines/read"));
        assert!(pattern_matches("*", ""));
    }

    #[test]
    fn star_crosses_slashes() {
        assert!(pattern_matches("Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/subnets/read"));
        assert!(pattern_matches("Microsoft.CostManagement/exports/*", "Microsoft.CostManagement/exports/run/action"));
        assert!(pattern_matches("*/read", "Microsoft.Storage/storageAccounts/blobServices/containers/read"));
    }

    #[test]
    fn comparison_ignores_case() {
        assert!(pattern_matches("Microsoft.Authorization/*/Delete", "microsoft.authorization/roleassignments/delete"));
        assert!(pattern_matches("MICROSOFT.COMPUTE/VIRTUALMACHINES/READ", "Microsoft.Compute/virtualMachines/read"));
    }

    #[test]
    fn literal_parts_must_match_exactly() {
        assert!(!pattern_matches("Microsoft.Network/*/read", "Microsoft.Network/virtualNetworks/write"));
        assert!(!pattern_matches("Microsoft.Compute/*", "Microsoft.ComputeSchedule/read"));
        assert!(!pattern_matches("Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/readx"));
        assert!(!pattern_matches("*/read", "Microsoft.Compute/virtualMachines/write"));
        // `*/read` needs the slash: a bare `read` is not under any provider.
        assert!(!pattern_matches("*/read", "read"));
    }

    #[test]
    fn several_stars_backtrack() {
        assert!(pattern_matches("*/virtualMachines/*/read", "Microsoft.Compute/virtualMachines/extensions/read"));
        assert!(pattern_matches("a*b*c", "axxbyybzzc"));
        assert!(!pattern_matches("a*b*c", "axxbyyzz"));
    }

    #[test]
    fn literal_prefix_stops_at_first_star() {
        assert_eq!(literal_prefix("Microsoft.Network/*/read"), "Microsoft.Network/");
        assert_eq!(literal_prefix("*/read"), "");
        assert_eq!(literal_prefix("Microsoft.Compute/virtualMachines/read"), "Microsoft.Compute/virtualMachines/read");
    }
}
