//! ARM's `$filter` on the lists of resource groups and resources (Microsoft.Resources,
//! `ResourceGroups_List`, `Resources_List`, `Resources_ListByResourceGroup` in
//! azure-rest-api-specs' `resources.json`), as the spec's parameter text documents it:
//!
//! - resource groups: `tagName eq '{name}'`, optionally `and tagValue eq '{value}'`;
//! - resources: `eq`/`ne` on `resourceType`, `name`, `location` and `resourceGroup`,
//!   `substringof('{value}', name|resourceGroup)`, joined with `and`/`or` and parentheses; or, on
//!   their own, the tag forms `tagName eq '{n}' [and tagValue eq '{v}']` and
//!   `startswith(tagName, '{prefix}')`. When resources are filtered by tag, ARM returns them
//!   without their tags ([`ResourceFilter::hides_tags`]).
//!
//! Everything else is refused with ARM's 400 `InvalidFilterInQueryString` ("Invalid $filter
//! '...' specified in the query string.", as ARM answers `name eq 'foo'` on resource groups,
//! azure-sdk-for-go#2480), never ignored. The spec also lists `identity`, `identity/principalId`
//! and the `plan` properties: OpenPIM does not keep a resource's identity or plan, so filters on
//! them are refused the same way rather than answered wrongly.
//!
//! Names, types, resource groups and tag names compare ignoring case (ARM's names are
//! case-insensitive), locations after normalising (`West Europe` is `westeurope`), tag values
//! exactly (Azure's tag values are case-sensitive).

use crate::azure_resources::normalise_location;
use crate::error::{DomainError, DomainResult};
use std::collections::BTreeMap;

/// ARM's refusal of a `$filter` it does not support.
pub fn invalid_filter(raw: &str, why: &str) -> DomainError {
    DomainError::invalid(
        "InvalidFilterInQueryString",
        format!("Invalid $filter '{raw}' specified in the query string. {why}"),
    )
}

/// A tag condition: a tag name (or name prefix), and optionally the value it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    pub name: String,
    /// `startswith(tagName, '...')`: `name` is a prefix.
    pub prefix: bool,
    pub value: Option<String>,
}

impl TagFilter {
    pub fn keeps(&self, tags: &BTreeMap<String, String>) -> bool {
        tags.iter().any(|(name, value)| {
            let name_ok = if self.prefix {
                name.len() >= self.name.len()
                    && name.is_char_boundary(self.name.len())
                    && name[..self.name.len()].eq_ignore_ascii_case(&self.name)
            } else {
                name.eq_ignore_ascii_case(&self.name)
            };
            name_ok && self.value.as_ref().is_none_or(|v| v == value)
        })
    }
}

/// The `$filter` of a resource-group list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceGroupFilter(Option<TagFilter>);

impl ResourceGroupFilter {
    pub fn parse(raw: Option<&str>) -> DomainResult<Self> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(Self(None)) };
        let node = parse(raw)?;
        match tag_filter(&node) {
            Some(tag) if !tag.prefix => Ok(Self(Some(tag))),
            _ => Err(invalid_filter(
                raw,
                "Resource groups are filtered by tag only: tagName eq '{name}' [and tagValue eq '{value}'].",
            )),
        }
    }

    pub fn keeps(&self, tags: &BTreeMap<String, String>) -> bool {
        self.0.as_ref().is_none_or(|t| t.keeps(tags))
    }
}

/// What a resource filter looks at.
#[derive(Debug, Clone, Copy)]
pub struct ResourceFacts<'a> {
    /// `Microsoft.Storage/storageAccounts`
    pub resource_type: &'a str,
    pub name: &'a str,
    pub location: Option<&'a str>,
    pub resource_group: &'a str,
    pub tags: &'a BTreeMap<String, String>,
}

/// The `$filter` of a resource list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ResourceFilter {
    #[default]
    All,
    Tag(TagFilter),
    Properties(Node),
}

impl ResourceFilter {
    pub fn parse(raw: Option<&str>) -> DomainResult<Self> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(Self::All) };
        let node = parse(raw)?;
        if let Some(tag) = tag_filter(&node) {
            return Ok(Self::Tag(tag));
        }
        check_properties(&node, raw)?;
        Ok(Self::Properties(node))
    }

    pub fn keeps(&self, r: &ResourceFacts<'_>) -> bool {
        match self {
            Self::All => true,
            Self::Tag(t) => t.keeps(r.tags),
            Self::Properties(node) => evaluate(node, r),
        }
    }

    /// ARM answers a list filtered by tag without each resource's tags.
    pub fn hides_tags(&self) -> bool {
        matches!(self, Self::Tag(_))
    }
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// `{property} eq|ne '{value}'`; the property as written.
    Compare {
        property: String,
        negated: bool,
        value: String,
    },
    /// `substringof('{value}', {property})`
    Substring {
        property: String,
        value: String,
    },
    /// `startswith(tagName, '{prefix}')`
    TagPrefix(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Property {
    ResourceType,
    Name,
    Location,
    ResourceGroup,
    TagName,
    TagValue,
}

fn property(raw: &str) -> Option<Property> {
    Some(match raw.to_ascii_lowercase().as_str() {
        "resourcetype" => Property::ResourceType,
        "name" => Property::Name,
        "location" => Property::Location,
        "resourcegroup" => Property::ResourceGroup,
        "tagname" => Property::TagName,
        "tagvalue" => Property::TagValue,
        _ => return None,
    })
}

/// The tag forms, when `node` is one of them (and nothing else).
fn tag_filter(node: &Node) -> Option<TagFilter> {
    let tag_name = |n: &Node| match n {
        Node::Compare { property, negated: false, value } if property_is(property, Property::TagName) => {
            Some(value.clone())
        }
        _ => None,
    };
    let tag_value = |n: &Node| match n {
        Node::Compare { property, negated: false, value } if property_is(property, Property::TagValue) => {
            Some(value.clone())
        }
        _ => None,
    };
    match node {
        Node::TagPrefix(prefix) => Some(TagFilter { name: prefix.clone(), prefix: true, value: None }),
        Node::And(a, b) => {
            let (name, value) = match (tag_name(a), tag_value(b)) {
                (Some(n), Some(v)) => (n, v),
                _ => (tag_name(b)?, tag_value(a)?),
            };
            Some(TagFilter { name, prefix: false, value: Some(value) })
        }
        other => tag_name(other).map(|name| TagFilter { name, prefix: false, value: None }),
    }
}

fn property_is(raw: &str, p: Property) -> bool {
    property(raw) == Some(p)
}

/// Every comparison names a property ARM filters resources on (tags only in the tag forms), and
/// `substringof` only `name` or `resourceGroup`.
fn check_properties(node: &Node, raw: &str) -> DomainResult<()> {
    match node {
        Node::And(a, b) | Node::Or(a, b) => {
            check_properties(a, raw)?;
            check_properties(b, raw)
        }
        Node::Compare { property: p, .. } => match property(p) {
            Some(Property::ResourceType | Property::Name | Property::Location | Property::ResourceGroup) => Ok(()),
            Some(Property::TagName | Property::TagValue) => Err(invalid_filter(
                raw,
                "Tags filter on their own: tagName eq '{name}' [and tagValue eq '{value}'] or startswith(tagName, '{prefix}').",
            )),
            None if is_unkept(p) => Err(invalid_filter(
                raw,
                &format!("OpenPIM does not keep a resource's '{p}', so it cannot filter on it."),
            )),
            None => Err(invalid_filter(
                raw,
                &format!(
                    "'{p}' is not a property resources are filtered on: use location, resourceType, name or \
                     resourceGroup."
                ),
            )),
        },
        Node::Substring { property: p, .. } => match property(p) {
            Some(Property::Name | Property::ResourceGroup) => Ok(()),
            _ => Err(invalid_filter(raw, "substringof() applies to name and resourceGroup only.")),
        },
        Node::TagPrefix(_) => Err(invalid_filter(raw, "startswith(tagName, ...) cannot be combined with other conditions.")),
    }
}

/// Properties the spec lists that OpenPIM does not keep.
fn is_unkept(raw: &str) -> bool {
    let lower = raw.to_ascii_lowercase();
    lower == "identity" || lower == "identity/principalid" || lower == "plan" || lower.starts_with("plan/")
}

fn evaluate(node: &Node, r: &ResourceFacts<'_>) -> bool {
    match node {
        Node::And(a, b) => evaluate(a, r) && evaluate(b, r),
        Node::Or(a, b) => evaluate(a, r) || evaluate(b, r),
        Node::Compare { property: p, negated, value } => {
            let equal = match property(p) {
                Some(Property::ResourceType) => r.resource_type.eq_ignore_ascii_case(value),
                Some(Property::Name) => r.name.eq_ignore_ascii_case(value),
                Some(Property::ResourceGroup) => r.resource_group.eq_ignore_ascii_case(value),
                Some(Property::Location) => {
                    r.location.is_some_and(|l| normalise_location(l) == normalise_location(value))
                }
                _ => false,
            };
            equal != *negated
        }
        Node::Substring { property: p, value } => {
            let haystack = match property(p) {
                Some(Property::Name) => r.name,
                Some(Property::ResourceGroup) => r.resource_group,
                _ => return false,
            };
            haystack.to_lowercase().contains(&value.to_lowercase())
        }
        Node::TagPrefix(_) => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Comma,
    Text(String),
    Word(String),
}

fn tokenize(raw: &str) -> DomainResult<Vec<Token>> {
    let bad = |why: &str| invalid_filter(raw, why);
    let mut tokens = Vec::new();
    let mut chars = raw.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '\'' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        None => return Err(bad("A string is not closed.")),
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            text.push('\'');
                        }
                        Some('\'') => break,
                        Some(ch) => text.push(ch),
                    }
                }
                tokens.push(Token::Text(text));
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == '/' || c == '$' => {
                let mut word = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_ascii_alphanumeric() || ch == '_' || ch == '/' || ch == '$' {
                        word.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(bad(&format!("Unexpected character '{other}'."))),
        }
    }
    Ok(tokens)
}

/// Parses `raw` into an expression (`and` binds tighter than `or`).
fn parse(raw: &str) -> DomainResult<Node> {
    let tokens = tokenize(raw)?;
    let mut p = Parser { raw, tokens: &tokens, at: 0, depth: 0 };
    let node = p.or()?;
    if p.at != tokens.len() {
        return Err(p.bad());
    }
    Ok(node)
}

/// Nesting deeper than this is refused (a filter is a short query, and recursion is bounded).
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    raw: &'a str,
    tokens: &'a [Token],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn bad(&self) -> DomainError {
        invalid_filter(
            self.raw,
            "Supported: eq/ne on location, resourceType, name, resourceGroup; substringof(); tagName/tagValue.",
        )
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.at);
        self.at += 1;
        t
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, token: &Token) -> DomainResult<()> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            _ => Err(self.bad()),
        }
    }

    fn text(&mut self) -> DomainResult<String> {
        match self.next() {
            Some(Token::Text(t)) => Ok(t.clone()),
            _ => Err(self.bad()),
        }
    }

    fn word(&mut self) -> DomainResult<String> {
        match self.next() {
            Some(Token::Word(w)) => Ok(w.clone()),
            _ => Err(self.bad()),
        }
    }

    fn or(&mut self) -> DomainResult<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.bad());
        }
        let mut node = self.and()?;
        while self.keyword("or") {
            node = Node::Or(Box::new(node), Box::new(self.and()?));
        }
        self.depth -= 1;
        Ok(node)
    }

    fn and(&mut self) -> DomainResult<Node> {
        let mut node = self.atom()?;
        while self.keyword("and") {
            node = Node::And(Box::new(node), Box::new(self.atom()?));
        }
        Ok(node)
    }

    fn atom(&mut self) -> DomainResult<Node> {
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let node = self.or()?;
            self.expect(&Token::Close)?;
            return Ok(node);
        }
        let word = self.word()?;
        if word.eq_ignore_ascii_case("substringof") {
            self.expect(&Token::Open)?;
            let value = self.text()?;
            self.expect(&Token::Comma)?;
            let property = self.word()?;
            self.expect(&Token::Close)?;
            return Ok(Node::Substring { property, value });
        }
        if word.eq_ignore_ascii_case("startswith") {
            self.expect(&Token::Open)?;
            let property = self.word()?;
            if !property_is(&property, Property::TagName) {
                return Err(invalid_filter(self.raw, "startswith() applies to tagName only."));
            }
            self.expect(&Token::Comma)?;
            let prefix = self.text()?;
            self.expect(&Token::Close)?;
            return Ok(Node::TagPrefix(prefix));
        }
        let negated = if self.keyword("eq") {
            false
        } else if self.keyword("ne") {
            true
        } else {
            return Err(self.bad());
        };
        let value = self.text()?;
        Ok(Node::Compare { property: word, negated, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn facts<'a>(t: &'a BTreeMap<String, String>, name: &'a str, kind: &'a str, rg: &'a str) -> ResourceFacts<'a> {
        ResourceFacts { resource_type: kind, name, location: Some("westeurope"), resource_group: rg, tags: t }
    }

    #[test]
    fn resource_group_filters_are_tags_only() {
        let env = tags(&[("Environment", "Prod")]);
        let f = ResourceGroupFilter::parse(Some("tagName eq 'environment' and tagValue eq 'Prod'")).unwrap();
        assert!(f.keeps(&env));
        assert!(!f.keeps(&tags(&[("Environment", "prod")])), "values are case-sensitive");
        assert!(ResourceGroupFilter::parse(Some("tagName eq 'ENVIRONMENT'")).unwrap().keeps(&env));
        assert!(!ResourceGroupFilter::parse(Some("tagName eq 'owner'")).unwrap().keeps(&env));
        assert!(ResourceGroupFilter::parse(None).unwrap().keeps(&BTreeMap::new()));
        for bad in [
            "name eq 'foo'",
            "tagValue eq 'x'",
            "tagName ne 'x'",
            "startswith(tagName, 'env')",
            "tagName eq 'a' or tagValue eq 'b'",
            "tagName eq 'a' and tagValue eq 'b' and tagValue eq 'c'",
            "tagName eq 'x",
            "location eq 'westeurope'",
        ] {
            assert_eq!(ResourceGroupFilter::parse(Some(bad)).unwrap_err().code, "InvalidFilterInQueryString", "{bad}");
        }
    }

    #[test]
    fn resource_filters_follow_the_documented_forms() {
        let none = BTreeMap::new();
        let vm = facts(&none, "web-demo-1", "Microsoft.Compute/virtualMachines", "Prod-RG");
        let sa = facts(&none, "logs", "Microsoft.Storage/storageAccounts", "data");
        let keeps = |f: &str, r: &ResourceFacts<'_>| ResourceFilter::parse(Some(f)).unwrap().keeps(r);
        assert!(keeps("resourceType eq 'microsoft.compute/virtualmachines'", &vm));
        assert!(!keeps("resourceType eq 'Microsoft.Compute/virtualMachines'", &sa));
        assert!(keeps("resourceType ne 'Microsoft.Compute/virtualMachines'", &sa));
        assert!(keeps("name eq 'LOGS'", &sa));
        assert!(keeps("substringof('DEMO', name)", &vm) && !keeps("substringof('demo', name)", &sa));
        assert!(keeps("substringof('prod', resourceGroup)", &vm));
        assert!(keeps("location eq 'West Europe'", &vm) && !keeps("location eq 'eastus'", &vm));
        assert!(keeps("resourceGroup eq 'prod-rg'", &vm));
        let either = "substringof('demo', name) or substringof('log', name)";
        assert!(keeps(either, &vm) && keeps(either, &sa));
        let both = "(substringof('demo', name) or substringof('log', name)) and resourceType eq 'Microsoft.Storage/storageAccounts'";
        assert!(!keeps(both, &vm) && keeps(both, &sa));
        // `and` binds tighter than `or`.
        let precedence = "name eq 'logs' or name eq 'x' and resourceType eq 'y'";
        assert!(keeps(precedence, &sa));
        assert!(ResourceFilter::parse(Some("")).unwrap() == ResourceFilter::All);
    }

    #[test]
    fn resource_tag_filters_stand_alone_and_hide_tags() {
        let t = tags(&[("department", "finance"), ("owner", "ann")]);
        let r = facts(&t, "a", "Microsoft.Web/sites", "rg");
        let f = ResourceFilter::parse(Some("tagName eq 'Owner' and tagValue eq 'ann'")).unwrap();
        assert!(f.keeps(&r) && f.hides_tags());
        assert!(!ResourceFilter::parse(Some("tagName eq 'owner' and tagValue eq 'bob'")).unwrap().keeps(&r));
        assert!(ResourceFilter::parse(Some("startswith(tagName, 'depart')")).unwrap().keeps(&r));
        assert!(!ResourceFilter::parse(Some("startswith(tagName, 'x')")).unwrap().keeps(&r));
        assert!(!ResourceFilter::parse(Some("name eq 'a'")).unwrap().hides_tags());
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "type eq 'x'",
            "identity eq 'x'",
            "plan/publisher eq 'x'",
            "substringof('x', location)",
            "startswith(name, 'x')",
            "tagName eq 'a' and name eq 'b'",
            "startswith(tagName, 'a') and name eq 'b'",
            "name eq 'a' and",
            "name eq a",
            "name gt 'a'",
            "(name eq 'a'",
            "name eq 'a')",
            "name eq 'a' # x",
            &"(".repeat(100),
        ] {
            assert_eq!(ResourceFilter::parse(Some(bad)).unwrap_err().code, "InvalidFilterInQueryString", "{bad}");
        }
        // Quotes are doubled inside strings.
        let none = BTreeMap::new();
        let r = facts(&none, "o'neil", "Microsoft.Web/sites", "rg");
        assert!(ResourceFilter::parse(Some("name eq 'o''neil'")).unwrap().keeps(&r));
    }
}
