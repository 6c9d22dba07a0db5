//! Listings printed as an aligned table, CSV (RFC 4180, for spreadsheets) or JSON. Cells hold
//! what IdPs sent, so text and CSV cells are made harmless first: characters a terminal would
//! act on are shown escaped, and a CSV cell a spreadsheet would run as a formula is quoted.

use crate::config::OutputFormat;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

/// Rows of text under named columns. JSON keys are the headers in snake_case.
#[derive(Debug)]
pub(crate) struct Listing {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Listing {
    pub fn new(headers: Vec<&'static str>) -> Self {
        Self {
            headers,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub fn write(&self, format: OutputFormat, out: &mut impl Write) -> anyhow::Result<()> {
        match format {
            OutputFormat::Table => self.write_table(out)?,
            OutputFormat::Csv => self.write_csv(true, out)?,
            OutputFormat::Json => {
                let objects: Vec<Value> = self.rows.iter().map(|row| self.object(row)).collect();
                serde_json::to_writer_pretty(&mut *out, &objects)?;
                writeln!(out)?;
            }
        }
        Ok(())
    }

    /// The rows as CSV, after the header line when `header` (a streamed export writes it
    /// with its first chunk only).
    pub fn write_csv(&self, header: bool, out: &mut impl Write) -> std::io::Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        if header {
            writer.write_record(&self.headers)?;
        }
        for row in &self.rows {
            writer.write_record(row.iter().map(|cell| spreadsheet_safe(cell).into_owned()))?;
        }
        writer.flush()
    }

    /// One row as a JSON object; empty cells are `null`.
    pub fn object(&self, row: &[String]) -> Value {
        let map: Map<String, Value> = self
            .headers
            .iter()
            .zip(row)
            .map(|(header, cell)| {
                let value = if cell.is_empty() {
                    Value::Null
                } else {
                    Value::String(cell.clone())
                };
                (json_key(header), value)
            })
            .collect();
        Value::Object(map)
    }

    fn write_table(&self, out: &mut impl Write) -> std::io::Result<()> {
        let rows: Vec<Vec<Cow<'_, str>>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(|cell| printable(cell)).collect())
            .collect();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        writeln!(out, "{}", line(self.headers.clone()).to_uppercase())?;
        for row in &rows {
            writeln!(out, "{}", line(row.iter().map(AsRef::as_ref).collect()))?;
        }
        Ok(())
    }
}

/// The cell with every character a terminal or a reader could be fooled by written as a
/// `\u{..}` escape: control characters (ESC starts terminal commands, CR rewrites a line)
/// and the invisible format characters that reorder or hide text (bidi overrides, zero-width
/// characters).
pub(crate) fn printable(cell: &str) -> Cow<'_, str> {
    if !cell.chars().any(is_unprintable) {
        return Cow::Borrowed(cell);
    }
    let mut escaped = String::with_capacity(cell.len() + 8);
    for c in cell.chars() {
        if is_unprintable(c) {
            let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

fn is_unprintable(c: char) -> bool {
    c.is_control() || scim::text::is_invisible_format(c)
}

/// A CSV cell a spreadsheet shows as text: [`printable`], and a cell that begins like a formula
/// (`=`, `+`, `-`, `@`, their full-width forms, TAB or CR) gets a leading `'` (OWASP's rule
/// against CSV injection).
pub(crate) fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    let starts_a_formula = cell.starts_with([
        '=', '+', '-', '@', '\t', '\r', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}',
    ]);
    match (starts_a_formula, printable(cell)) {
        (true, cell) => Cow::Owned(format!("'{cell}")),
        (false, cell) => cell,
    }
}

fn json_key(header: &str) -> String {
    header.to_ascii_lowercase().replace([' ', '-'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Listing {
        let mut listing = Listing::new(vec!["Email", "Display name"]);
        listing.push(vec!["a@b.co".into(), "Ann, \"Jr\"".into()]);
        listing.push(vec!["c@d.co".into(), String::new()]);
        listing
    }

    fn render(format: OutputFormat) -> String {
        let mut out = Vec::new();
        sample().write(format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_that_would_run_as_formulas_are_quoted_in_csv() {
        let mut listing = Listing::new(vec!["Detail"]);
        for cell in [
            "=HYPERLINK(\"http://evil.test\",\"x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tTAB",
            "\r=1",
            "\u{ff1d}1+1",
            "plain = text",
        ] {
            listing.push(vec![cell.into()]);
        }
        let mut out = Vec::new();
        listing.write(OutputFormat::Csv, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Detail\n\"'=HYPERLINK(\"\"http://evil.test\"\",\"\"x\"\")\"\n'+1+1\n'-2+3\n\
             '@SUM(A1)\n'\\u{9}TAB\n'\\u{d}=1\n'\u{ff1d}1+1\nplain = text\n"
        );
    }

    #[test]
    fn control_and_invisible_characters_are_shown_escaped_in_tables_and_csv() {
        let mut listing = Listing::new(vec!["Name"]);
        listing.push(vec!["evil\u{1b}]0;owned\u{7}\u{202e}gpj.exe\u{0}".into()]);
        for format in [OutputFormat::Table, OutputFormat::Csv] {
            let mut out = Vec::new();
            listing.write(format, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(
                text.contains("evil\\u{1b}]0;owned\\u{7}\\u{202e}gpj.exe\\u{0}"),
                "{text:?}"
            );
            assert!(!text.contains(['\u{1b}', '\u{7}', '\u{202e}', '\u{0}']));
        }
    }

    #[test]
    fn tables_align_columns() {
        assert_eq!(
            render(OutputFormat::Table),
            "EMAIL   DISPLAY NAME\na@b.co  Ann, \"Jr\"\nc@d.co\n"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            render(OutputFormat::Csv),
            "Email,Display name\na@b.co,\"Ann, \"\"Jr\"\"\"\nc@d.co,\n"
        );
    }

    #[test]
    fn json_uses_snake_case_keys_and_null_for_empty() {
        let value: Value = serde_json::from_str(&render(OutputFormat::Json)).unwrap();
        assert_eq!(value[0]["display_name"], "Ann, \"Jr\"");
        assert_eq!(value[1]["display_name"], Value::Null);
    }
}
