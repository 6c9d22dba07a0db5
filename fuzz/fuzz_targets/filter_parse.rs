//! Any text: parsing never panics, and whatever parses prints back to the same tree, resolves
//! against the User schema without panicking, and evaluates without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim::Filter;
use scim::schema::USER;

fuzz_target!(|text: &str| {
    let Ok(filter) = Filter::parse(text) else { return };
    let printed = filter.to_string();
    // The printed form may be longer than the input (it adds spaces and escapes); past the
    // length limit it is refused like any other oversized filter.
    if printed.len() <= scim::filter::MAX_LENGTH {
        assert_eq!(Filter::parse(&printed).ok().as_ref(), Some(&filter), "round trip of {printed}");
    }
    if let Ok(resolved) = filter.resolve(&USER) {
        let user = serde_json::json!({
            "userName": "a@b.c", "active": true, "emails": [{"value": "a@b.c", "primary": true}],
            "meta": {"lastModified": "2011-05-13T04:42:34Z"}
        });
        if let Some(user) = user.as_object() {
            let _ = resolved.matches(user);
        }
    }
});
