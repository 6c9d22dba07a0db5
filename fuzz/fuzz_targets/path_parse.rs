//! Any text: PATCH path and attribute path parsing never panics, and a parsed PATCH path prints
//! back to the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim::{AttrPath, PatchPath};

fuzz_target!(|text: &str| {
    let _ = AttrPath::parse(text);
    if let Ok(path) = PatchPath::parse(text) {
        let printed = path.to_string();
        // Printing may lengthen the text (escapes); past the limit it is refused like any other
        // oversized path.
        if printed.len() <= scim::filter::MAX_LENGTH {
            assert_eq!(PatchPath::parse(&printed).ok().as_ref(), Some(&path), "round trip of {printed}");
        }
    }
});
