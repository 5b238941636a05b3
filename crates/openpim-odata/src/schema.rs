//! Static descriptions of the entity types a list endpoint exposes.
//!
//! A schema is the allow-list between untrusted query text and SQL: only
//! properties named here can be filtered, sorted or selected, and the SQL
//! column text comes from here, never from the request.

/// The storage type of a property. It decides how filter values are coerced
/// and bound (see the crate docs for the storage conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropType {
    /// TEXT. Case-insensitive when [`Property::case_insensitive`] is set.
    String,
    /// Lowercase hyphenated TEXT.
    Guid,
    /// BIGINT 0/1.
    Bool,
    /// BIGINT.
    Int,
    /// BIGINT microseconds since the Unix epoch, UTC.
    DateTime,
    /// TEXT holding one of the listed members, in exactly this casing.
    Enum(&'static [&'static str]),
    /// A collection of strings, usable only through `any()`. For SQL, `column`
    /// must be a correlated subquery returning one row per element in a
    /// single column named `value`, e.g.
    /// `SELECT scope AS value FROM role_scopes s WHERE s.role_id = roles.id`.
    /// Elements compare case-insensitively when `case_insensitive` is set.
    StringCollection,
}

impl PropType {
    /// The Edm type name used in error messages.
    pub fn edm_name(&self) -> &'static str {
        match self {
            PropType::String => "String",
            PropType::Guid => "Guid",
            PropType::Bool => "Boolean",
            PropType::Int => "Int64",
            PropType::DateTime => "DateTimeOffset",
            PropType::Enum(_) => "enumeration",
            PropType::StringCollection => "Collection(String)",
        }
    }

    /// The Edm type name with its indefinite article ("an Int64").
    pub(crate) fn edm_name_with_article(&self) -> String {
        let name = self.edm_name();
        let article = if name.starts_with(['I', 'e']) { "an" } else { "a" };
        format!("{article} {name}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    /// Wire name, camelCase; may be a path such as `initiatedBy/user/id`.
    pub name: &'static str,
    /// SQL column or expression. Trusted: it is pasted into SQL as is.
    pub column: &'static str,
    pub ty: PropType,
    /// Compare with `LOWER()` on both sides (Graph compares most strings
    /// case-insensitively, e.g. `displayName`).
    pub case_insensitive: bool,
    pub filterable: bool,
    pub sortable: bool,
}

impl Property {
    /// A filterable, sortable, case-sensitive property. Adjust with the
    /// builder methods below; all are `const` so schemas can be `static`.
    pub const fn new(name: &'static str, column: &'static str, ty: PropType) -> Self {
        Property { name, column, ty, case_insensitive: false, filterable: true, sortable: true }
    }

    pub const fn case_insensitive(mut self) -> Self {
        self.case_insensitive = true;
        self
    }

    pub const fn not_filterable(mut self) -> Self {
        self.filterable = false;
        self
    }

    pub const fn not_sortable(mut self) -> Self {
        self.sortable = false;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntitySchema {
    /// Qualified type name used in messages, e.g. `microsoft.graph.user`.
    pub type_name: &'static str,
    /// Column appended to every `ORDER BY` so paging is stable.
    pub key_column: &'static str,
    pub properties: &'static [Property],
}

impl EntitySchema {
    /// Look up a wire property name case-insensitively, as Graph does.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Graph's wording for an unknown property.
    pub(crate) fn unknown_property(&self, name: &str) -> crate::ODataError {
        crate::ODataError::bad_request(format!(
            "Could not find a property named '{}' on type '{}'.",
            crate::error::snippet(name),
            self.type_name
        ))
    }

    /// Resolve a property or fail with Graph's unknown-property message.
    pub(crate) fn require(&self, name: &str) -> Result<&Property, crate::ODataError> {
        self.property(name).ok_or_else(|| self.unknown_property(name))
    }
}
