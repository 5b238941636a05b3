//! Every Azure resource-provider operation (`az provider operation list`), split into the
//! control plane (`actions`) and the data plane (`dataActions`), which ARM keeps apart: `*` in
//! `actions` never grants a data action.

use super::pattern::{literal_prefix, pattern_matches};
use std::sync::OnceLock;

const PROVIDER_OPERATIONS: &str = include_str!("../../data/azure/provider-operations.txt");

/// Which list of a role's permissions an operation belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    /// A control-plane operation, for `actions` / `notActions`.
    Action,
    /// A data-plane operation, for `dataActions` / `notDataActions`.
    DataAction,
}

/// One plane's operations, sorted by their lower-cased name so lookups are binary searches and a
/// pattern's literal prefix selects a contiguous range.
struct Operations {
    /// `(lower-cased name, name as the provider spells it)`.
    sorted: Vec<(String, &'static str)>,
}

impl Operations {
    fn from_lines(lines: impl Iterator<Item = &'static str>) -> Self {
        let mut sorted: Vec<_> = lines.map(|name| (name.to_ascii_lowercase(), name)).collect();
        sorted.sort_unstable();
        // Providers occasionally list one operation under two casings: keep one.
        sorted.dedup_by(|a, b| a.0 == b.0);
        Self { sorted }
    }

    fn contains(&self, op: &str) -> bool {
        let key = op.to_ascii_lowercase();
        self.sorted.binary_search_by(|(lower, _)| lower.as_str().cmp(&key)).is_ok()
    }

    fn expand(&self, pattern: &str) -> Vec<&'static str> {
        let prefix = literal_prefix(pattern).to_ascii_lowercase();
        let start = self.sorted.partition_point(|(lower, _)| lower.as_str() < prefix.as_str());
        self.sorted[start..]
            .iter()
            .take_while(|(lower, _)| lower.starts_with(&prefix))
            .filter(|(_, name)| pattern_matches(pattern, name))
            .map(|&(_, name)| name)
            .collect()
    }
}

fn plane(kind: OperationKind) -> &'static Operations {
    static PLANES: OnceLock<(Operations, Operations)> = OnceLock::new();
    let (actions, data_actions) = PLANES.get_or_init(|| {
        // Format: `#` comment lines, then one `A <operation>` or `D <operation>` per line.
        let entries = || PROVIDER_OPERATIONS.lines().filter(|l| !l.is_empty() && !l.starts_with('#'));
        let of = |tag: &'static str| entries().filter_map(move |l| l.strip_prefix(tag));
        (Operations::from_lines(of("A ")), Operations::from_lines(of("D ")))
    });
    match kind {
        OperationKind::Action => actions,
        OperationKind::DataAction => data_actions,
    }
}

/// Is `op` a control-plane operation some provider registers? Case-insensitive, no wildcards.
pub fn is_known_action(op: &str) -> bool {
    plane(OperationKind::Action).contains(op)
}

/// Is `op` a data-plane operation some provider registers? Case-insensitive, no wildcards.
pub fn is_known_data_action(op: &str) -> bool {
    plane(OperationKind::DataAction).contains(op)
}

/// Every operation of `kind`, sorted case-insensitively, spelled as its provider spells it.
pub fn operations(kind: OperationKind) -> impl Iterator<Item = &'static str> {
    plane(kind).sorted.iter().map(|&(_, name)| name)
}

/// The known operations of `kind` that the permission `pattern` covers (see
/// [`super::pattern_matches`]), sorted case-insensitively. A pattern without `*` yields the one
/// operation it names, if known. Operations registered after the data snapshot are not listed,
/// although ARM's `*` covers them too.
pub fn expand(pattern: &str, kind: OperationKind) -> Vec<&'static str> {
    plane(kind).expand(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation of the data file as `(kind, name)`, parsed independently of `plane`.
    fn raw(kind: OperationKind) -> Vec<&'static str> {
        let tag = if kind == OperationKind::Action { "A " } else { "D " };
        PROVIDER_OPERATIONS.lines().filter_map(|l| l.strip_prefix(tag)).collect()
    }

    #[test]
    fn every_line_of_the_file_is_a_comment_or_a_tagged_operation() {
        for line in PROVIDER_OPERATIONS.lines() {
            let tagged = line.starts_with("A ") || line.starts_with("D ");
            assert!(line.starts_with('#') || tagged, "unexpected line {line:?}");
            if tagged {
                let op = &line[2..];
                assert!(op.contains('/') && !op.contains('*') && op.trim() == op, "odd operation {op:?}");
            }
        }
    }

    #[test]
    fn both_planes_load_sorted_and_distinct() {
        for kind in [OperationKind::Action, OperationKind::DataAction] {
            let ops: Vec<_> = operations(kind).collect();
            let lower: Vec<_> = ops.iter().map(|o| o.to_ascii_lowercase()).collect();
            assert!(lower.windows(2).all(|w| w[0] < w[1]), "{kind:?} not strictly sorted");
            let distinct: std::collections::HashSet<_> = raw(kind).iter().map(|o| o.to_ascii_lowercase()).collect();
            assert_eq!(ops.len(), distinct.len(), "{kind:?}");
        }
        // The snapshot's sizes (data/README.md): a regenerated file must be checked by hand.
        assert_eq!(operations(OperationKind::Action).count(), 18_263);
        assert_eq!(operations(OperationKind::DataAction).count(), 4_257);
    }

    #[test]
    fn lookups_ignore_case_and_keep_the_planes_apart() {
        assert!(is_known_action("Microsoft.Compute/virtualMachines/read"));
        assert!(is_known_action("MICROSOFT.COMPUTE/VIRTUALMACHINES/READ"));
        assert!(is_known_action("Microsoft.Authorization/roleAssignments/write"));
        assert!(!is_known_action("Microsoft.Compute/virtualMachines/fly/action"));
        assert!(!is_known_action("Microsoft.Compute/*"), "wildcards are patterns, not operations");

        let blob_read = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read";
        assert!(is_known_data_action(blob_read));
        assert!(is_known_data_action(&blob_read.to_uppercase()));
        assert!(!is_known_action(blob_read), "a data action is not a control-plane action");
        assert!(!is_known_data_action("Microsoft.Compute/virtualMachines/read"));
    }

    #[test]
    fn expand_lists_what_a_pattern_covers() {
        // Hand-checked against data/azure/provider-operations.txt with grep.
        assert_eq!(
            expand("Microsoft.CostManagement/exports/*", OperationKind::Action),
            [
                "Microsoft.CostManagement/exports/action",
                "Microsoft.CostManagement/exports/delete",
                "Microsoft.CostManagement/exports/read",
                "Microsoft.CostManagement/exports/run/action",
                "Microsoft.CostManagement/exports/write",
            ]
        );
        assert_eq!(
            expand("microsoft.storage/storageaccounts/blobservices/containers/blobs/*", OperationKind::DataAction),
            [
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/manageOwnership/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/modifyPermissions/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/permanentDelete/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/runAsSuperUser/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            ]
        );
        // No wildcard: the operation itself, in the provider's spelling, or nothing.
        assert_eq!(
            expand("microsoft.compute/virtualmachines/read", OperationKind::Action),
            ["Microsoft.Compute/virtualMachines/read"]
        );
        assert!(expand("Microsoft.Compute/virtualMachines/fly/action", OperationKind::Action).is_empty());
        // `*` alone is the whole plane.
        assert_eq!(expand("*", OperationKind::DataAction).len(), operations(OperationKind::DataAction).count());
    }

    #[test]
    fn expand_agrees_with_a_scan_of_the_whole_plane() {
        // The prefix range is an optimisation: it must not drop anything a full scan finds.
        for pattern in ["*/read", "Microsoft.Network/*/read", "Microsoft.Authorization/*/Delete", "*/virtualMachines/*"]
        {
            let scanned: Vec<_> = operations(OperationKind::Action).filter(|op| pattern_matches(pattern, op)).collect();
            assert!(!scanned.is_empty(), "{pattern} covers nothing");
            assert_eq!(expand(pattern, OperationKind::Action), scanned, "{pattern}");
        }
        let network_reads = expand("Microsoft.Network/*/read", OperationKind::Action);
        assert!(network_reads.contains(&"Microsoft.Network/virtualNetworks/subnets/read"));
        let lower: Vec<_> = network_reads.iter().map(|op| op.to_ascii_lowercase()).collect();
        assert!(lower.iter().all(|op| op.starts_with("microsoft.network/") && op.ends_with("/read")), "{lower:?}");
    }
}
