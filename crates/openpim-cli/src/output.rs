//! Rendering results: aligned tables for people, JSON for scripts, CSV for spreadsheets, and
//! times shown as `2026-03-02 09:00 UTC (in 1h 59m)`.

use crate::duration;
use serde::Serialize;
use std::io::IsTerminal;
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

/// Prints `out` as JSON or the table `table` builds, as the format says.
pub fn emit<T: Serialize + ?Sized>(format: Format, out: &T, table: impl FnOnce() -> String) {
    match format {
        Format::Json => match serde_json::to_string_pretty(out) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("the result could not be written as JSON: {e}"),
        },
        Format::Table => print!("{}", table()),
    }
}

/// `2026-03-02 09:00 UTC`.
pub fn time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// An end time for people: "permanent" when there is none, else the time and how far off it is.
pub fn end_time(end: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    match end {
        None => "permanent".into(),
        Some(t) => format!("{} ({})", time(t), duration::relative((t - now).whole_seconds())),
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
        assert_eq!(time(datetime!(2026-03-02 11:59:30 +01:00)), "2026-03-02 10:59 UTC");
        assert_eq!(end_time(Some(datetime!(2026-03-02 10:59:30 UTC)), now), "2026-03-02 10:59 UTC (in 1h 59m)");
        assert_eq!(end_time(None, now), "permanent");
        assert_eq!(details(&[("a", "1".into()), ("long", "2".into())]), "a:    1\nlong: 2\n");
    }
}
