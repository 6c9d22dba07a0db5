//! Listings printed as an aligned table, CSV (RFC 4180, for spreadsheets) or JSON.

use crate::config::OutputFormat;
use serde_json::{Map, Value};
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
            OutputFormat::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer.write_record(&self.headers)?;
                for row in &self.rows {
                    writer.write_record(row)?;
                }
                writer.flush()?;
            }
            OutputFormat::Json => {
                let objects: Vec<Value> = self.rows.iter().map(|row| self.object(row)).collect();
                serde_json::to_writer_pretty(&mut *out, &objects)?;
                writeln!(out)?;
            }
        }
        Ok(())
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
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
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
        for row in &self.rows {
            writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
        }
        Ok(())
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
