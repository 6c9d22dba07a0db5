//! `If-Match` / `If-None-Match` (RFC 7232 as used by RFC 7644 §3.14), compared weakly.

/// Whether a precondition header lists the current ETag (or `*`).
pub fn header_lists(header: &str, current_etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || opaque(candidate) == opaque(current_etag))
}

/// Weak comparison: `W/"3"` and `"3"` name the same version.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_comparison_lists_and_wildcard() {
        assert!(header_lists("W/\"3\"", "W/\"3\""));
        assert!(header_lists("\"3\"", "W/\"3\""));
        assert!(header_lists("W/\"1\", W/\"3\"", "W/\"3\""));
        assert!(header_lists("*", "W/\"3\""));
        assert!(!header_lists("W/\"2\"", "W/\"3\""));
        assert!(!header_lists("", "W/\"3\""));
    }
}
