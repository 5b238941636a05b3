//! Parsers for command-line values: durations, request headers and workload sizes.

use std::time::Duration;

/// `10s`, `500ms`, `2m`, `1.5s`; a bare number is seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let s = raw.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let value: f64 = num.parse().map_err(|_| format!("'{raw}' is not a duration (e.g. 10s, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("'{raw}': unknown unit '{unit}' (use ms, s or m)")),
    };
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("'{raw}' is out of range (0 to 24 h)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `Name: value`, as curl takes it.
pub fn parse_header(raw: &str) -> Result<(String, String), String> {
    let (name, value) = raw.split_once(':').ok_or_else(|| format!("header '{raw}' must look like 'Name: value'"))?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
        return Err(format!("header '{raw}' has an invalid name"));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// How many users the seeded workload has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Small,
    Large,
    Users(usize),
}

pub fn parse_size(raw: &str) -> Result<Size, String> {
    match raw {
        "small" => Ok(Size::Small),
        "large" => Ok(Size::Large),
        n => match n.parse::<usize>() {
            Ok(u) if u >= 1 => Ok(Size::Users(u)),
            _ => Err(format!("size '{raw}' must be small, large or a number of users (≥ 1)")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("1e400s").is_err());
        assert!(parse_duration("99999999m").is_err());
    }

    #[test]
    fn headers() {
        assert_eq!(parse_header("Authorization: Bearer abc"), Ok(("Authorization".into(), "Bearer abc".into())));
        assert_eq!(parse_header("X-A:b:c"), Ok(("X-A".into(), "b:c".into())));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": empty name").is_err());
        assert!(parse_header("bad name: x").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("small"), Ok(Size::Small));
        assert_eq!(parse_size("large"), Ok(Size::Large));
        assert_eq!(parse_size("250"), Ok(Size::Users(250)));
        assert!(parse_size("0").is_err());
        assert!(parse_size("huge").is_err());
        assert!(parse_size("-3").is_err());
    }
}
