//! `api-version`: every ARM request carries one (`?api-version=YYYY-MM-DD[-preview]`); each area
//! declares the versions it serves.
//!
//! Missing: 400 `MissingApiVersionParameter` with ARM's message. Present but not served by the
//! area: 400 `InvalidApiVersionParameter` listing the supported versions (the name comes from
//! third-party captures; ARM's own text for this case lists "the supported api-versions" too).
//! A next-link request (one carrying `$skiptoken`) may bring the api-version of another
//! operation group (the Python SDK does): any version some area serves is accepted there.

use super::error::{ArmError, ArmResult};
use super::query::ArmQuery;
use axum::http::StatusCode;

/// The api-version of a request, checked against what its area serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion(String);

impl ApiVersion {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// In an area's list: any well-formed version (generic resources, whose providers OpenPIM does
/// not know).
pub const ANY: &str = "*";

/// `YYYY-MM-DD` with an optional `-preview`/`-beta`/... suffix of letters.
fn well_formed(version: &str) -> bool {
    if !version.is_ascii() {
        return false;
    }
    let (date, suffix) = version.split_at(version.len().min(10));
    let date_ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let suffix_ok = suffix.is_empty()
        || suffix
            .strip_prefix('-')
            .is_some_and(|s| !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_alphanumeric()));
    date_ok && suffix_ok
}

/// ARM's message for a request without `api-version`.
pub const MISSING_MESSAGE: &str = "The api-version query parameter (?api-version=) is required for all requests.";

/// The request's `api-version`, without checking it is supported (for messages).
pub fn raw(query: &ArmQuery) -> Option<&str> {
    query.get("api-version").map(str::trim).filter(|v| !v.is_empty())
}

/// The request's `api-version` if it is one of `accepted` (compared ignoring case, as ARM does),
/// or on a next link, one of `any_area` .
pub fn require(query: &ArmQuery, accepted: &[&str], any_area: &[&str]) -> ArmResult<ApiVersion> {
    let Some(version) = raw(query) else {
        return Err(ArmError::new(StatusCode::BAD_REQUEST, "MissingApiVersionParameter", MISSING_MESSAGE));
    };
    let served = |list: &[&str]| list.iter().any(|v| v.eq_ignore_ascii_case(version));
    if served(accepted)
        || (query.is_next_link() && served(any_area))
        || (accepted.contains(&ANY) && well_formed(version))
    {
        return Ok(ApiVersion(version.to_ascii_lowercase()));
    }
    Err(ArmError::new(
        StatusCode::BAD_REQUEST,
        "InvalidApiVersionParameter",
        format!("The api-version '{version}' is invalid. The supported versions are '{}'.", accepted.join(",")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: &[&str] = &["2021-04-01", "2022-09-01"];
    const ALL: &[&str] = &["2021-04-01", "2022-09-01", "2022-04-01"];

    #[test]
    fn missing_unsupported_and_accepted_versions() {
        let e = require(&ArmQuery::parse(""), AREA, ALL).unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str(), e.message.as_str()),
            (StatusCode::BAD_REQUEST, "MissingApiVersionParameter", MISSING_MESSAGE)
        );
        assert_eq!(
            require(&ArmQuery::parse("api-version="), AREA, ALL).unwrap_err().code,
            "MissingApiVersionParameter"
        );
        let e = require(&ArmQuery::parse("api-version=2019-01-01"), AREA, ALL).unwrap_err();
        assert_eq!(e.code, "InvalidApiVersionParameter");
        assert!(e.message.contains("2021-04-01,2022-09-01"), "{}", e.message);
        assert_eq!(require(&ArmQuery::parse("api-version=2022-09-01"), AREA, ALL).unwrap().as_str(), "2022-09-01");
        // Another area's version only on a next link.
        assert!(require(&ArmQuery::parse("api-version=2022-04-01"), AREA, ALL).is_err());
        assert!(require(&ArmQuery::parse("api-version=2022-04-01&$skiptoken=x"), AREA, ALL).is_ok());
        assert!(require(&ArmQuery::parse("api-version=2030-01-01&$skiptoken=x"), AREA, ALL).is_err());
        // An area serving any version still wants one that looks like a version.
        assert!(require(&ArmQuery::parse("api-version=2023-01-01-preview"), &[ANY], ALL).is_ok());
        assert!(require(&ArmQuery::parse("api-version=2023-01-01"), &[ANY], ALL).is_ok());
        for bad in ["latest", "2023-1-01", "2023-01-0é", "ééééééé", "2023-01-01-", "2023-01-01-pre view"] {
            let q = ArmQuery::parse(&format!("api-version={bad}"));
            assert_eq!(require(&q, &[ANY], ALL).unwrap_err().code, "InvalidApiVersionParameter", "{bad}");
        }
    }
}
