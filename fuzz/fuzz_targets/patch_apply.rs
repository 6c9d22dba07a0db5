//! Any bytes as a PATCH body applied to a complete user: never a panic; a success yields a
//! resource that still has its userName and normalises to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim::normalise::normalise_resource;
use scim::patch::{PatchRequest, apply};
use scim::schema::USER;
use serde_json::{Value, json};

fuzz_target!(|bytes: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(bytes) else { return };
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "26118915"}}
    });
    let Ok(stored) = normalise_resource(&user, &USER) else { return };
    let Ok(request) = PatchRequest::parse(&body, &USER) else { return };
    if let Ok(patched) = apply(&stored.resource, &request, &USER) {
        assert!(patched.resource.contains_key("userName"));
        let again = normalise_resource(&Value::Object(patched.resource.clone()), &USER);
        assert_eq!(again.map(|n| n.resource).ok(), Some(patched.resource));
    }
});
