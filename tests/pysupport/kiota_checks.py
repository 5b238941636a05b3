"""Checks on what a Kiota-generated SDK (msgraph-sdk, msgraph-beta-sdk) parsed: shared by the
Graph v1.0 and beta suites, which know nothing of each other's models."""

from __future__ import annotations


def unparsed_properties(obj, path: str = "$") -> list[str]:
    """Properties of a parsed SDK model that landed in `additional_data` instead of typed fields.

    Kiota puts any JSON property it has no deserializer for into `additional_data`; for a
    wire-compatible server that means wrong casing, a wrong type name, or a missing
    `@odata.type` on a derived type. Annotations (`@odata.*`) are ignored.
    """
    from kiota_abstractions.serialization import Parsable

    found: list[str] = []
    if isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            found += unparsed_properties(item, f"{path}[{i}]")
        return found
    if not isinstance(obj, Parsable):
        return found
    for key in (getattr(obj, "additional_data", None) or {}):
        if not key.startswith("@"):
            found.append(f"{path}.{key}")
    for name, value in vars(obj).items():
        if name in ("additional_data", "backing_store"):
            continue
        if isinstance(value, (Parsable, list, tuple)):
            found += unparsed_properties(value, f"{path}.{name}")
    return found
