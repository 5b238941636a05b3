//! ISO 8601 durations as Graph uses them (`PT8H`, `P1D`, `PT1H45M`, `P365D`, `P1Y`), plus the
//! `H:MM:SS` / `D day(s), H:MM:SS` form the Python Kiota serializer emits for `timedelta`.
//!
//! Years and months have no fixed length; like most schedulers we count a year as 365 days and
//! a month as 30 days, and say so in the API docs.

use time::Duration;

const MAX_SECONDS: i64 = 100 * 365 * 86_400;

/// Parses a duration; `None` for anything malformed, negative or absurdly long.
pub fn parse(raw: &str) -> Option<Duration> {
    let s = raw.trim();
    let secs = if s.starts_with('P') || s.starts_with('p') { parse_iso(s)? } else { parse_clock(s)? };
    (0..=MAX_SECONDS).contains(&secs).then(|| Duration::seconds(secs))
}

fn parse_iso(s: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut in_time = false;
    let mut number = String::new();
    let mut saw_component = false;
    let mut time_components = 0;
    // Components come at most once each and in ISO 8601's order (Y M W D, then H M S), so
    // `PT1H1H` or `PT5M1H` is malformed rather than silently added up.
    let mut last_rank = 0u8;
    for c in s[1..].chars() {
        match c {
            'T' | 't' => {
                if in_time || !number.is_empty() {
                    return None;
                }
                in_time = true;
            }
            '0'..='9' | '.' => number.push(c),
            _ => {
                let unit = c.to_ascii_uppercase();
                let (rank, scale): (u8, f64) = match (in_time, unit) {
                    (false, 'Y') => (1, 365.0 * 86_400.0),
                    (false, 'M') => (2, 30.0 * 86_400.0),
                    (false, 'W') => (3, 7.0 * 86_400.0),
                    (false, 'D') => (4, 86_400.0),
                    (true, 'H') => (5, 3_600.0),
                    (true, 'M') => (6, 60.0),
                    (true, 'S') => (7, 1.0),
                    _ => return None,
                };
                if rank <= last_rank {
                    return None;
                }
                last_rank = rank;
                let value: f64 = number.parse().ok()?;
                number.clear();
                saw_component = true;
                time_components += usize::from(in_time);
                total = total.checked_add((value * scale).round() as i64)?;
            }
        }
    }
    // `T` must be followed by at least one time component.
    (saw_component && number.is_empty() && (!in_time || time_components > 0)).then_some(total)
}

/// `1:00:00`, `0:05:00.5`, `2 days, 3:00:00`, `1 day, 0:00:00`.
fn parse_clock(s: &str) -> Option<i64> {
    let (days, clock) = match s.split_once(',') {
        Some((d, rest)) => {
            let d = d.trim();
            let n = d.strip_suffix("days").or_else(|| d.strip_suffix("day"))?.trim();
            (n.parse::<i64>().ok()?, rest.trim())
        }
        None => (0, s),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() != 3 || days < 0 {
        return None;
    }
    let h: i64 = parts[0].parse().ok()?;
    let m: i64 = parts[1].parse().ok()?;
    let sec: f64 = parts[2].parse().ok()?;
    if !(0..60).contains(&m) || !(0.0..60.0).contains(&sec) || h < 0 {
        return None;
    }
    Some(days * 86_400 + h * 3_600 + m * 60 + sec.round() as i64)
}

/// Canonical ISO 8601 text: `PT8H`, `P365D`, `PT1H45M`, `P1DT2H`, `PT0S`.
pub fn format(d: Duration) -> String {
    let mut secs = d.whole_seconds().max(0);
    let days = secs / 86_400;
    secs %= 86_400;
    let (h, m, s) = (secs / 3_600, (secs % 3_600) / 60, secs % 60);
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if h > 0 || m > 0 || s > 0 || days == 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 || (h == 0 && m == 0) {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_graph_and_kiota_forms() {
        assert_eq!(parse("PT8H"), Some(Duration::hours(8)));
        assert_eq!(parse("PT1H45M"), Some(Duration::minutes(105)));
        assert_eq!(parse("P1D"), Some(Duration::days(1)));
        assert_eq!(parse("P365D"), Some(Duration::days(365)));
        assert_eq!(parse("P1Y"), Some(Duration::days(365)));
        assert_eq!(parse("P1DT12H"), Some(Duration::hours(36)));
        assert_eq!(parse("PT0.5H"), Some(Duration::minutes(30)));
        assert_eq!(parse("1:00:00"), Some(Duration::hours(1)));
        assert_eq!(parse("0:05:00"), Some(Duration::minutes(5)));
        assert_eq!(parse("2 days, 3:00:00"), Some(Duration::hours(51)));
        assert_eq!(parse("1 day, 0:00:00"), Some(Duration::days(1)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "P",
            "PT",
            "8H",
            "PTH",
            "P1H",
            "PT1D",
            "P1DT",
            "-PT1H",
            "P-1D",
            "1:60:00",
            "x",
            "P1.2.3D",
            "P9999999999Y",
            "PT1H2",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rejects_repeated_or_out_of_order_components() {
        for bad in ["PT1H1H", "PT5M1H", "P1D1D", "P1D1Y", "PT1S1M", "P1M1Y", "PT1H30M30M", "P1DT1H1H"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        // In order, each once: still fine.
        assert_eq!(parse("P1Y1M1W1DT1H1M1S"), Some(Duration::seconds(365 * 86_400 + 30 * 86_400 + 8 * 86_400 + 3_661)));
    }

    #[test]
    fn formats_canonically_and_round_trips() {
        for (d, s) in [
            (Duration::hours(8), "PT8H"),
            (Duration::days(365), "P365D"),
            (Duration::minutes(105), "PT1H45M"),
            (Duration::hours(26), "P1DT2H"),
            (Duration::ZERO, "PT0S"),
            (Duration::seconds(90), "PT1M30S"),
        ] {
            assert_eq!(format(d), s);
            assert_eq!(parse(s), Some(d));
        }
    }
}
