//! Durations as people type them (`90m`, `8h`, `1h30m`, `2d`, read by `humantime`) or as Graph
//! sends them (`PT8H`, `P365D`, read by core's ISO 8601 parser, the one the server uses), and
//! back: ISO 8601 for the wire (core's formatter), `1h 30m` for people.

use openpim_core::duration as iso;

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Parses a positive duration into whole seconds: `90m`, `8h`, `1h30m`, `2d`, `45s`, `1w`, or ISO
/// 8601 (`PT8H`, `P1DT2H`; `P1Y` = 365 days and `P1M` = 30 days, as the server counts them).
pub fn parse(raw: &str) -> Result<u64, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("empty duration: use e.g. 90m, 8h, 1h30m, 2d or PT8H".into());
    }
    let secs = if s.starts_with(['P', 'p']) { parse_iso(s) } else { parse_human(s) }
        .ok_or_else(|| format!("'{raw}' is not a duration: use e.g. 90m, 8h, 1h30m, 2d or PT8H"))?;
    if secs == 0 {
        return Err(format!("'{raw}' is zero: a duration must be positive"));
    }
    Ok(secs)
}

/// Human input. `humantime` also reads bare numbers as nothing and fractions of a second; a
/// whole number of seconds is what the API deals in, so anything shorter counts as zero.
fn parse_human(s: &str) -> Option<u64> {
    humantime::parse_duration(s).ok().map(|d| d.as_secs())
}

fn parse_iso(s: &str) -> Option<u64> {
    u64::try_from(iso::parse(s)?.whole_seconds()).ok()
}

/// Seconds as ISO 8601 (`PT1H30M`, `P2D`, `P1DT2H`), the form the server reads.
pub fn to_iso(secs: u64) -> String {
    iso::format(time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX)))
}

/// Seconds for people: `1h 30m`, `2d 4h`, `45s`; `0s` for nothing.
pub fn human(secs: u64) -> String {
    let parts = [(secs / DAY, "d"), (secs % DAY / HOUR, "h"), (secs % HOUR / MINUTE, "m"), (secs % MINUTE, "s")];
    let out: Vec<String> = parts.iter().filter(|(n, _)| *n > 0).map(|(n, u)| format!("{n}{u}")).collect();
    if out.is_empty() {
        "0s".into()
    } else {
        out.join(" ")
    }
}

/// An ISO 8601 duration from the server, shown for people (the raw text if it does not parse).
pub fn human_iso(iso: &str) -> String {
    parse_iso(iso).map(human).unwrap_or_else(|| iso.to_string())
}

/// "in 1h 59m" / "5m ago", to the minute once a minute or more away (seconds are noise there).
pub fn relative(secs_from_now: i64) -> String {
    let abs = secs_from_now.unsigned_abs();
    let shown = if abs >= MINUTE { human(abs - abs % MINUTE) } else { human(abs) };
    if secs_from_now >= 0 {
        format!("in {shown}")
    } else {
        format!("{shown} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_forms() {
        assert_eq!(parse("90m"), Ok(90 * 60));
        assert_eq!(parse("8h"), Ok(8 * 3600));
        assert_eq!(parse("1h30m"), Ok(5400));
        assert_eq!(parse("1h 30m"), Ok(5400));
        assert_eq!(parse("2d"), Ok(2 * 86400));
        assert_eq!(parse("45s"), Ok(45));
        assert_eq!(parse("1w"), Ok(7 * 86400));
        assert_eq!(parse("365d"), Ok(365 * 86400));
    }

    #[test]
    fn parses_iso_forms() {
        assert_eq!(parse("PT8H"), Ok(8 * 3600));
        assert_eq!(parse("pt90m"), Ok(5400));
        assert_eq!(parse("P1D"), Ok(86400));
        assert_eq!(parse("P1DT2H30M"), Ok(86400 + 2 * 3600 + 1800));
        assert_eq!(parse("P1Y"), Ok(365 * 86400));
        assert_eq!(parse("P1M"), Ok(30 * 86400));
        assert_eq!(parse("PT1M"), Ok(60));
        // Core rounds fractions of a second, as the server reads them.
        assert_eq!(parse("PT1.5S"), Ok(2));
    }

    #[test]
    fn refuses_nonsense_without_panicking() {
        for bad in [
            "",
            " ",
            "8",
            "h",
            "8x",
            "P",
            "PT",
            "P8H",
            "PTH",
            "1h30",
            "-5m",
            "PT1H1H",
            "PT1M1H",
            "99999999999999999999d",
            "P999999999999999Y",
            "0m",
            "PT0S",
            "ü",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn iso_round_trips() {
        assert_eq!(to_iso(8 * 3600), "PT8H");
        assert_eq!(to_iso(5400), "PT1H30M");
        assert_eq!(to_iso(2 * 86400), "P2D");
        assert_eq!(to_iso(86400 + 61), "P1DT1M1S");
        assert_eq!(to_iso(0), "PT0S");
        for secs in [1, 59, 60, 3599, 3600, 86399, 86400, 365 * 86400 + 7] {
            assert_eq!(parse(&to_iso(secs)), Ok(secs), "{secs}");
        }
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(human(5400), "1h 30m");
        assert_eq!(human(8 * 3600), "8h");
        assert_eq!(human(2 * 86400 + 4 * 3600), "2d 4h");
        assert_eq!(human(45), "45s");
        assert_eq!(human(0), "0s");
        assert_eq!(human_iso("PT8H"), "8h");
        assert_eq!(human_iso("P365D"), "365d");
        assert_eq!(human_iso("garbage"), "garbage");
    }

    #[test]
    fn relative_times() {
        assert_eq!(relative(2 * 3600 - 10), "in 1h 59m");
        assert_eq!(relative(-300), "5m ago");
        assert_eq!(relative(30), "in 30s");
        assert_eq!(relative(0), "in 0s");
    }
}
