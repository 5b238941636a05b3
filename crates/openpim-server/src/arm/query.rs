//! The query string of an ARM request, decoded once. Clients encode differently per operation
//! (the Python SDK sends roleAssignments `$filter` unencoded, PIM filters percent-encoded, docs
//! write `+` for spaces): values are percent-decoded with `+` as a space, and parameter names
//! compare ignoring case (`$skipToken`, `$skiptoken`).

/// The largest page a `$top` asks for.
pub const MAX_TOP: usize = 1000;

/// Decoded query parameters, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArmQuery(Vec<(String, String)>);

impl ArmQuery {
    pub fn parse(raw: &str) -> Self {
        let decode =
            |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
        Self(
            raw.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(name), decode(value))
                })
                .collect(),
        )
    }

    /// The first value of parameter `name` (ignoring case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// `$filter`, if given and not blank.
    pub fn filter(&self) -> Option<&str> {
        self.get("$filter").map(str::trim).filter(|f| !f.is_empty())
    }

    /// `$top` as the resource-group and resource lists read it: a positive whole number, the
    /// page size (their next links carry it on); above [`MAX_TOP`] reads as [`MAX_TOP`]. Anything
    /// else is 400 `InvalidQueryParameterValue` (no source gives ARM's code; the name is ours).
    pub fn top(&self) -> Result<Option<usize>, super::ArmError> {
        let Some(raw) = self.get("$top").map(str::trim) else { return Ok(None) };
        match raw.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(usize::try_from(n).unwrap_or(MAX_TOP).min(MAX_TOP))),
            _ => Err(super::ArmError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "InvalidQueryParameterValue",
                format!("The value '{raw}' of the query parameter '$top' is not valid: expected a positive integer."),
            )),
        }
    }

    /// `$skiptoken` (any casing), if given.
    pub fn skiptoken(&self) -> Option<&str> {
        self.get("$skiptoken")
    }

    /// True for a request following a `nextLink`.
    pub fn is_next_link(&self) -> bool {
        self.skiptoken().is_some()
    }

    /// Every parameter, decoded.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_form_clients_send() {
        let q = ArmQuery::parse("api-version=2022-04-01&$filter=atScope()+and+assignedTo('A3BB')&$skipToken=abc");
        assert_eq!(q.get("API-VERSION"), Some("2022-04-01"));
        assert_eq!(q.filter(), Some("atScope() and assignedTo('A3BB')"));
        assert_eq!(q.skiptoken(), Some("abc"));
        let q = ArmQuery::parse("%24filter=principalId%20eq%20%27x%27");
        assert_eq!(q.filter(), Some("principalId eq 'x'"));
        assert!(!q.is_next_link());
        assert_eq!(ArmQuery::parse("").get("api-version"), None);
    }

    #[test]
    fn top_is_a_positive_page_size() {
        assert_eq!(ArmQuery::parse("$top=5").top().unwrap(), Some(5));
        assert_eq!(ArmQuery::parse("%24TOP=5000").top().unwrap(), Some(MAX_TOP));
        assert_eq!(ArmQuery::parse("a=b").top().unwrap(), None);
        for bad in ["$top=0", "$top=-1", "$top=x", "$top="] {
            assert_eq!(ArmQuery::parse(bad).top().unwrap_err().code, "InvalidQueryParameterValue", "{bad}");
        }
    }
}
