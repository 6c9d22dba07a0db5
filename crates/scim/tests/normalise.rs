//! POST/PUT bodies: every IdP create and update body of the fixtures, each tolerance rule, and
//! each error.

// Test helpers fail loudly: a panic is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim::ScimType;
use scim::normalise::normalise_resource;
use scim::schema::USER;
use serde_json::{Value, json};

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const INSYNC: &str = "urn:ietf:params:scim:schemas:extension:Druva:2.0:User";

fn fixture_bodies() -> Vec<(String, Value)> {
    let fixtures = [
        include_str!("../../../tests/fixtures/idp/entra.json"),
        include_str!("../../../tests/fixtures/idp/okta.json"),
        include_str!("../../../tests/fixtures/idp/jumpcloud.json"),
    ];
    let mut bodies = Vec::new();
    for text in fixtures {
        let steps: Vec<Value> = serde_json::from_str(text).expect("fixture json");
        for step in steps {
            let writes_user = matches!(step["method"].as_str(), Some("POST" | "PUT"))
                && step["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/Users") && !p.contains(".search"));
            if writes_user {
                let body = bind_placeholders(&step["body"].to_string());
                bodies.push((
                    step["name"].to_string(),
                    serde_json::from_str(&body).expect("json"),
                ));
            }
        }
    }
    bodies
}

/// `{{testUserEmail}}` becomes `testUserEmail@example.com`: every placeholder in a user body is
/// a name, an email or an id, and an email-shaped value is valid for all three.
fn bind_placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        out.push_str(&format!("{name}@example.com"));
        rest = &rest[start + 4 + len..];
    }
    out.push_str(rest);
    out
}

#[test]
fn every_idp_create_and_update_body_is_accepted() {
    let bodies = fixture_bodies();
    assert!(bodies.len() >= 10, "only {} bodies", bodies.len());
    for (name, body) in bodies {
        let normalised = normalise_resource(&body, &USER).unwrap_or_else(|e| panic!("{name}: {e}"));
        let resource = normalised.resource;
        assert!(resource.contains_key("userName"), "{name}");
        for never in ["password", "id", "meta", "groups"] {
            assert!(!resource.contains_key(never), "{name} kept {never}");
        }
        assert_eq!(resource["schemas"][0], CORE, "{name}");
        assert!(!resource.values().any(Value::is_null), "{name} kept a null");
    }
}

#[test]
fn entra_validator_string_booleans_are_coerced() {
    let body = json!({
        "schemas": [CORE], "userName": "a@b.c",
        "emails": [{"primary": "true", "type": "work", "value": "a@b.c"}],
        "roles": [{"primary": "True", "display": "x", "value": "y", "type": "z"}],
        "active": "False"
    });
    let resource = normalise_resource(&body, &USER).expect("valid").resource;
    assert_eq!(resource["emails"][0]["primary"], true);
    assert_eq!(resource["roles"][0]["primary"], true);
    assert_eq!(resource["active"], false);
}

#[test]
fn nulls_typos_and_unknown_schemas_are_ignored_with_notes() {
    let body = json!({
        "schemas": [CORE, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "userName": "jyoung@testuser.com", "addresses": null, "title": null, "manager": null,
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {"tag": "x"},
        "meta": {"resourceType": "User", "created": "04-12-2018 00:00:00"},
        "id": "client-chosen", "groups": [], "password": "t1meMa$heen"
    });
    let normalised = normalise_resource(&body, &USER).expect("valid");
    assert_eq!(
        normalised.resource,
        json!({"schemas": [CORE], "userName": "jyoung@testuser.com"})
            .as_object()
            .cloned()
            .expect("object")
    );
    let notes = normalised.notes.join("\n");
    for expected in [
        "2.0User",
        "CustomExtensionName",
        "readOnly attribute 'meta'",
        "readOnly attribute 'id'",
        "'password': never stored",
    ] {
        assert!(notes.contains(expected), "notes lack {expected}: {notes}");
    }
}

#[test]
fn names_are_canonicalised_and_keys_ordered_by_schema() {
    let body = json!({
        ENTERPRISE.to_uppercase(): {"DEPARTMENT": "Finance", "Manager": "271"},
        "EMAILS": [{"VALUE": "a@b.c", "Type": "work"}],
        "username": "a@b.c",
        "Name": {"GivenName": "Ann"},
        "externalid": "e1"
    });
    let resource = normalise_resource(&body, &USER).expect("valid").resource;
    let keys: Vec<&str> = resource.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "schemas",
            "externalId",
            "userName",
            "name",
            "emails",
            ENTERPRISE
        ]
    );
    assert_eq!(resource["name"], json!({"givenName": "Ann"}));
    assert_eq!(
        resource["emails"],
        json!([{"value": "a@b.c", "type": "work"}])
    );
    assert_eq!(
        resource[ENTERPRISE],
        json!({"department": "Finance", "manager": {"value": "271"}})
    );
    assert_eq!(resource["schemas"], json!([CORE, ENTERPRISE]));
}

#[test]
fn custom_attributes_are_set_aside_for_mappings_r44() {
    let body = json!({
        "userName": "a@b.c", "countryCode": "IN", "department": "top-level dept",
        INSYNC: {"userPrincipalName": "a@corp", "city": "Pune", "costCentre": "42"}
    });
    let normalised = normalise_resource(&body, &USER).expect("valid");
    assert_eq!(
        normalised.resource[INSYNC],
        json!({"userPrincipalName": "a@corp"})
    );
    assert!(!normalised.resource.contains_key("countryCode"));
    assert_eq!(
        normalised.custom.insync,
        json!({"city": "Pune", "costCentre": "42"})
            .as_object()
            .cloned()
            .expect("object")
    );
    assert_eq!(normalised.custom.top_level["countryCode"], "IN");
    assert_eq!(normalised.custom.top_level["department"], "top-level dept");
}

#[test]
fn single_valued_and_multi_valued_shapes_are_absorbed() {
    let body = json!({
        "userName": "a@b.c",
        "emails": {"value": "a@b.c"},
        ENTERPRISE: {"manager": [{"value": "m1", "$ref": "../Users/m1"}]},
        "phoneNumbers": [],
        "name": {"givenName": ""}
    });
    let normalised = normalise_resource(&body, &USER).expect("valid");
    assert_eq!(normalised.resource["emails"], json!([{"value": "a@b.c"}]));
    assert_eq!(
        normalised.resource[ENTERPRISE]["manager"],
        json!({"value": "m1", "$ref": "../Users/m1"})
    );
    assert!(!normalised.resource.contains_key("phoneNumbers"));
    assert!(
        !normalised.resource.contains_key("name"),
        "a complex value with nothing present is unassigned"
    );
}

#[test]
fn two_primaries_keep_the_first() {
    let body = json!({"userName": "a@b.c", "emails": [
        {"value": "a@b.c", "primary": true}, {"value": "b@b.c", "primary": true}
    ]});
    let resource = normalise_resource(&body, &USER).expect("valid").resource;
    assert_eq!(resource["emails"][0]["primary"], true);
    assert_eq!(resource["emails"][1]["primary"], false);
}

fn assert_invalid(body: Value, scim_type: ScimType, fragment: &str) {
    let error = normalise_resource(&body, &USER).expect_err("must fail");
    assert_eq!(error.scim_type, Some(scim_type), "{error}");
    assert!(
        error.detail.contains(fragment),
        "detail {:?} lacks {fragment:?}",
        error.detail
    );
}

#[test]
fn bad_bodies_name_the_attribute_and_the_problem() {
    assert_invalid(json!([1, 2]), ScimType::InvalidSyntax, "JSON object");
    assert_invalid(json!("text"), ScimType::InvalidSyntax, "JSON object");
    assert_invalid(
        json!({"displayName": "x"}),
        ScimType::InvalidValue,
        "'userName' is required",
    );
    assert_invalid(
        json!({"userName": ""}),
        ScimType::InvalidValue,
        "'userName' is required",
    );
    assert_invalid(
        json!({"userName": 42}),
        ScimType::InvalidValue,
        "'userName' must be a string, not the number 42",
    );
    assert_invalid(
        json!({"userName": "a@b.c", "active": "yes"}),
        ScimType::InvalidValue,
        "'active' must be a boolean",
    );
    assert_invalid(
        json!({"userName": "a@b.c", "emails": [{"value": "a@b.c", "primary": 1}]}),
        ScimType::InvalidValue,
        "'emails[0].primary' must be a boolean",
    );
    assert_invalid(
        json!({"userName": "a@b.c", "name": "Ann"}),
        ScimType::InvalidValue,
        "'name' must be a JSON object",
    );
    assert_invalid(
        json!({"userName": "a@b.c", "displayName": ["a", "b"]}),
        ScimType::InvalidValue,
        "single-valued",
    );
    assert_invalid(
        json!({"userName": "a@b.c", ENTERPRISE: "Finance"}),
        ScimType::InvalidValue,
        "JSON object of extension attributes",
    );
}
