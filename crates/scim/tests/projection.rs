//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) with `returned` semantics.

// Test helpers fail loudly: a panic is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim::projection::Projection;
use scim::schema::USER;
use serde_json::{Map, Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn bjensen() -> Map<String, Value> {
    serde_json::from_str(include_str!("data/bjensen.json")).expect("json")
}

fn project(attributes: Option<&str>, excluded: Option<&str>) -> Map<String, Value> {
    Projection::from_query(attributes, excluded, &USER).apply(bjensen(), &USER)
}

#[test]
fn no_parameters_return_every_default_attribute() {
    assert_eq!(project(None, None), bjensen());
}

#[test]
fn attributes_keep_named_ones_plus_those_returned_always() {
    let user = project(Some("userName,name.givenName"), None);
    let keys: Vec<&str> = user.keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["schemas", "id", "userName", "name"]);
    assert_eq!(user["name"], json!({"givenName": "Barbara"}));
    assert_eq!(
        user["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
}

#[test]
fn entra_reference_check_asks_for_id_only() {
    let user = project(Some("id"), None);
    assert_eq!(
        Value::Object(user),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "2819c223-7f76-453a-919d-413861904646"})
    );
}

#[test]
fn attributes_select_sub_attributes_of_multi_valued_and_extensions() {
    let user = project(Some("emails.value,manager.value,EMPLOYEENUMBER"), None);
    assert_eq!(
        user["emails"],
        json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}])
    );
    assert_eq!(
        user[ENTERPRISE],
        json!({"employeeNumber": "701984", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}})
    );
    let whole = project(Some(ENTERPRISE), None);
    assert_eq!(whole[ENTERPRISE], bjensen()[ENTERPRISE]);
}

#[test]
fn excluded_attributes_drop_named_ones_but_never_id_or_schemas() {
    let user = project(None, Some("emails,name.middleName,id,schemas,meta"));
    assert!(!user.contains_key("emails"));
    assert!(!user.contains_key("meta"));
    assert!(user["name"].get("middleName").is_none());
    assert_eq!(user["name"]["givenName"], "Barbara");
    assert!(user.contains_key("id"));
    assert!(user.contains_key("schemas"));
}

#[test]
fn excluding_an_extension_removes_it_from_schemas_too() {
    let user = project(None, Some(ENTERPRISE));
    assert!(!user.contains_key(ENTERPRISE));
    assert_eq!(
        user["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
}

#[test]
fn never_returned_values_are_never_shown() {
    let mut stored = bjensen();
    stored.insert("password".into(), "secret".into());
    let everything = Projection::default().apply(stored.clone(), &USER);
    assert!(!everything.contains_key("password"));
    let asked = Projection::from_query(Some("password"), None, &USER).apply(stored, &USER);
    assert!(!asked.contains_key("password"));
}

#[test]
fn unknown_and_malformed_names_are_ignored() {
    let user = project(Some("shoeSize,,1abc, userName "), None);
    assert_eq!(
        user.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["schemas", "id", "userName"]
    );
}

#[test]
fn search_body_lists_work_like_query_parameters() {
    let projection = Projection::from_lists(&["displayName".into()], &[], &USER);
    let user = projection.apply(bjensen(), &USER);
    assert_eq!(
        user.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["schemas", "id", "displayName"]
    );
}
