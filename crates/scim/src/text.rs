//! Characters a stored value must not hold. Values end up in terminals, CSV files, logs and
//! other systems: a control character (NUL, ESC, a bare CR) can end a string early, run a
//! terminal command or rewrite a line, and the invisible format characters (bidi overrides,
//! zero-width spaces) make one text look like another.

use crate::error::{Error, Result};

/// The invisible characters that reorder or hide text: zero-width spaces and joiners, the
/// bidi marks, embeddings, overrides and isolates, word joiners, and the byte order mark.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
    )
}

/// Refuses a control character in `text`; `line_breaks` lets TAB, LF and CR through (for the
/// few values made of lines, such as a mailing address).
pub fn check_no_control(text: &str, line_breaks: bool, label: &str) -> Result<()> {
    let allowed = |c: char| line_breaks && matches!(c, '\t' | '\n' | '\r');
    match text
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !allowed(*c))
    {
        Some((at, c)) => Err(Error::invalid_value(format!(
            "'{label}' must not contain control characters (U+{:04X} at character {})",
            u32::from(c),
            at + 1
        ))),
        None => Ok(()),
    }
}

/// Refuses an invisible format character in `text` (see [`is_invisible_format`]), for
/// identifiers that people compare by eye, such as a userName.
pub fn check_no_invisible(text: &str, label: &str) -> Result<()> {
    match text
        .chars()
        .enumerate()
        .find(|(_, c)| is_invisible_format(*c))
    {
        Some((at, c)) => Err(Error::invalid_value(format!(
            "'{label}' must not contain invisible formatting characters (U+{:04X} at character {})",
            u32::from(c),
            at + 1
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_with_where_they_are() {
        let error = check_no_control("ann\u{1b}[31m", false, "displayName").unwrap_err();
        assert_eq!(error.scim_type, Some(crate::ScimType::InvalidValue));
        assert!(
            error.to_string().contains("U+001B at character 4"),
            "{error}"
        );
        let refused = |text, line_breaks| {
            let error = check_no_control(text, line_breaks, "x").unwrap_err();
            assert_eq!(error.scim_type, Some(crate::ScimType::InvalidValue));
            error.detail
        };
        assert!(refused("a\0b", false).contains("U+0000 at character 2"));
        assert!(refused("line\nbreak", false).contains("U+000A"));
        assert!(check_no_control("line\r\nbreak\t", true, "x").is_ok());
        assert!(
            refused("a\u{85}b", true).contains("U+0085"),
            "C1 controls too"
        );
        assert!(check_no_control("Zoë Ørsted 山田", false, "x").is_ok());
    }

    #[test]
    fn invisible_format_characters_are_refused() {
        for (text, found) in [
            ("ceo\u{202e}moc.elpmaxe@x.io", "U+202E at character 4"),
            ("c\u{200b}eo@example.com", "U+200B at character 2"),
        ] {
            let error = check_no_invisible(text, "userName").unwrap_err();
            assert_eq!(error.scim_type, Some(crate::ScimType::InvalidValue));
            assert!(error.detail.contains(found), "{}", error.detail);
        }
        assert!(check_no_invisible("ceo@example.com", "userName").is_ok());
    }
}
