//! Rendering results: aligned tables for people, JSON for scripts, CSV for spreadsheets, and
//! times shown as `2026-03-02 09:00 UTC (in 1h 59m)`.

use crate::duration;
use serde_json::Value;
use std::io::IsTerminal;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

impl Format {
    /// Tables on a terminal, JSON when piped (scripts get the stable form without asking).
    pub fn resolve(explicit: Option<Format>) -> Format {
        explicit.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Json })
    }
}

/// Rows with headers; every cell already formatted for people.
#[derive(Debug, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Columns padded to their widest cell; the last column is not padded.
    pub fn render(&self) -> String {
        let cols = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(one_line(cell).chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(|c| one_line(c)).unwrap_or_default();
                if i + 1 == cols {
                    out.push_str(&cell);
                } else {
                    out.push_str(&format!("{cell:<width$}  "));
                }
            }
            out.trim_end().to_string()
        };
        let mut out = line(&self.headers);
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        if self.rows.is_empty() {
            out.push_str("(none)\n");
        }
        out
    }
}

/// Cells stay on one line so columns stay aligned.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r', '\t'], " ")
}

/// `key: value` lines for a single object.
pub fn details(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    pairs.iter().map(|(k, v)| format!("{:<width$} {}\n", format!("{k}:"), one_line(v))).collect()
}

/// Prints `json` or the table `table` builds, as the format says.
pub fn emit(format: Format, json: &Value, table: impl FnOnce() -> String) {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(json).unwrap_or_else(|_| json.to_string())),
        Format::Table => print!("{}", table()),
    }
}

/// A string property, or "" when absent or not a string.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

pub fn parse_time(raw: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(raw, &Rfc3339).ok()
}

/// `2026-03-02 09:00 UTC` for an RFC 3339 instant (the raw text if it does not parse).
pub fn time(raw: &str) -> String {
    match parse_time(raw) {
        Some(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
        }
        None => raw.to_string(),
    }
}

/// An end time for people: "permanent" when there is none, else the time and how far off it is.
pub fn end_time(raw: Option<&str>, now: OffsetDateTime) -> String {
    match raw.filter(|r| !r.is_empty()) {
        None => "permanent".into(),
        Some(r) => match parse_time(r) {
            Some(t) => format!("{} ({})", time(r), duration::relative((t - now).whole_seconds())),
            None => r.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn tables_align_and_flatten() {
        let mut t = Table::new(&["NAME", "ID"]);
        t.row(vec!["User Administrator".into(), "fe93".into()]);
        t.row(vec!["x\ny".into(), "1".into()]);
        assert_eq!(t.render(), "NAME                ID\nUser Administrator  fe93\nx y                 1\n");
        assert_eq!(Table::new(&["A"]).render(), "A\n(none)\n");
    }

    #[test]
    fn times_for_people() {
        let now = datetime!(2026-03-02 09:00:00 UTC);
        assert_eq!(time("2026-03-02T10:59:30Z"), "2026-03-02 10:59 UTC");
        assert_eq!(end_time(Some("2026-03-02T10:59:30Z"), now), "2026-03-02 10:59 UTC (in 1h 59m)");
        assert_eq!(end_time(None, now), "permanent");
        assert_eq!(end_time(Some("not a time"), now), "not a time");
        assert_eq!(details(&[("a", "1".into()), ("long", "2".into())]), "a:    1\nlong: 2\n");
    }
}
