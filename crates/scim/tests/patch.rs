//! PATCH: the RFC 7644 §3.5.2 examples, every IdP PATCH body of the fixtures, and the errors.

// Test helpers fail loudly: a panic is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim::ScimType;
use scim::normalise::normalise_resource;
use scim::patch::{PatchRequest, Patched, apply};
use scim::schema::USER;
use serde_json::{Map, Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The RFC 7643 §8.2 user as stored: normalised, with its id.
fn bjensen() -> Map<String, Value> {
    let body: Value = serde_json::from_str(include_str!("data/bjensen.json")).expect("json");
    let mut stored = normalise_resource(&body, &USER).expect("valid").resource;
    stored.insert("id".into(), "2819c223-7f76-453a-919d-413861904646".into());
    stored
}

fn patch(resource: &Map<String, Value>, operations: Value) -> scim::Result<Patched> {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
    let request = PatchRequest::parse(&body, &USER)?;
    apply(resource, &request, &USER)
}

fn patched(operations: Value) -> Map<String, Value> {
    let text = operations.to_string();
    patch(&bjensen(), operations)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .resource
}

fn failure(operations: Value) -> scim::Error {
    patch(&bjensen(), operations).expect_err("the patch must fail")
}

// RFC 7644 §3.5.2.1: add.
#[test]
fn add_without_path_merges_attributes_and_appends_values() {
    let user = patched(json!([{"op": "add", "value": {
        "emails": [{"value": "babs@jensen.org", "type": "home"}, {"value": "b2@jensen.org", "type": "other"}],
        "nickName": "Barbie"
    }}]));
    let emails = user["emails"].as_array().expect("emails");
    assert_eq!(
        emails.len(),
        3,
        "the existing home email is not duplicated: {emails:?}"
    );
    assert_eq!(user["nickName"], "Barbie");
}

#[test]
fn add_to_a_complex_attribute_keeps_sub_attributes_not_sent() {
    let user = patched(json!([{"op": "add", "path": "name", "value": {"givenName": "Barb"}}]));
    assert_eq!(user["name"]["givenName"], "Barb");
    assert_eq!(user["name"]["familyName"], "Jensen");
}

#[test]
fn add_primary_value_clears_the_previous_primary() {
    let user = patched(
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "other", "primary": true}]}]),
    );
    let primaries: Vec<&Value> = user["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .filter(|e| e["primary"] == true)
        .collect();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["value"], "new@example.com");
}

// RFC 7644 §3.5.2.2: remove.
#[test]
fn remove_with_value_filter_removes_only_matching_elements() {
    let user = patched(
        json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
    );
    let emails = user["emails"].as_array().expect("emails");
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["type"], "home");
}

#[test]
fn remove_whole_attribute_and_sub_attribute() {
    let user = patched(json!([
        {"op": "remove", "path": "x509Certificates"},
        {"op": "remove", "path": "name.middleName"},
        {"op": "remove", "path": "addresses[type eq \"work\"].region"},
    ]));
    assert!(user.get("x509Certificates").is_none());
    assert!(user["name"].get("middleName").is_none());
    assert!(user["addresses"][0].get("region").is_none());
    assert_eq!(user["addresses"][0]["locality"], "Hollywood");
}

#[test]
fn remove_last_element_unassigns_the_attribute() {
    let user = patched(json!([{"op": "remove", "path": "ims[type eq \"aim\"]"}]));
    assert!(user.get("ims").is_none());
}

#[test]
fn remove_with_a_value_list_removes_only_those_values() {
    let user = patched(
        json!([{"op": "Remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]),
    );
    let emails = user["emails"].as_array().expect("emails");
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["value"], "bjensen@example.com");
}

// RFC 7644 §3.5.2.3: replace.
#[test]
fn replace_filtered_element_and_filtered_sub_attribute() {
    let user = patched(json!([
        {"op": "replace", "path": "addresses[type eq \"work\"]", "value": {
            "type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
            "region": "CA", "postalCode": "91608", "country": "US",
            "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true}},
        {"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"},
    ]));
    assert_eq!(user["addresses"][0]["streetAddress"], "1010 Broadway Ave");
    assert_eq!(user["addresses"][0]["country"], "US");
}

#[test]
fn replace_multi_valued_attribute_replaces_all_values() {
    let user = patched(
        json!([{"op": "replace", "value": {"emails": [{"value": "only@example.com", "type": "work"}], "nickName": "Babs2"}}]),
    );
    assert_eq!(
        user["emails"],
        json!([{"value": "only@example.com", "type": "work"}])
    );
    assert_eq!(user["nickName"], "Babs2");
}

#[test]
fn operations_apply_in_order_on_the_same_attribute() {
    // Entra validator preview: "Multiple Operations on same attribute".
    let user = patched(json!([
        {"op": "remove", "path": "externalId"},
        {"op": "add", "value": {"externalId": "first"}},
        {"op": "replace", "value": {"externalId": "second"}},
    ]));
    assert_eq!(user["externalId"], "second");
}

#[test]
fn replace_with_an_empty_value_removes() {
    let user = patched(json!([
        {"op": "replace", "path": "manager", "value": {"value": ""}},
        {"op": "replace", "path": "nickName", "value": ""},
    ]));
    assert!(user[ENTERPRISE].get("manager").is_none());
    assert!(user.get("nickName").is_none());
}

#[test]
fn manager_accepts_bare_string_object_and_one_element_array() {
    for value in [
        json!("271"),
        json!({"value": "271"}),
        json!([{"$ref": "../Users/271", "value": "271"}]),
    ] {
        let user = patched(
            json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": value}]),
        );
        assert_eq!(user[ENTERPRISE]["manager"]["value"], "271", "{value}");
        let user = patched(json!([{"op": "add", "path": "manager", "value": value}]));
        assert_eq!(user[ENTERPRISE]["manager"]["value"], "271", "{value}");
    }
}

#[test]
fn manager_removal_forms() {
    let id = "26118915-6090-4610-87e4-49d8ca9f808d";
    for operation in [
        json!({"op": "remove", "path": format!("manager[value eq \"{id}\"]")}),
        json!({"op": "remove", "path": format!("{ENTERPRISE}:manager")}),
        json!({"op": "Replace", "path": "manager", "value": ""}),
    ] {
        let user = patched(json!([operation]));
        assert!(user[ENTERPRISE].get("manager").is_none(), "{operation}");
    }
    let untouched =
        patched(json!([{"op": "remove", "path": "manager[value eq \"someone-else\"]"}]));
    assert_eq!(untouched[ENTERPRISE]["manager"]["value"], id);
}

#[test]
fn filtered_add_on_missing_element_creates_exactly_one() {
    let user = patched(json!([
        {"op": "add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "555-1234"},
        {"op": "add", "path": "phoneNumbers[type eq \"fax\"].display", "value": "Fax"},
    ]));
    let faxes: Vec<&Value> = user["phoneNumbers"]
        .as_array()
        .expect("phones")
        .iter()
        .filter(|p| p["type"] == "fax")
        .collect();
    assert_eq!(
        faxes,
        vec![&json!({"value": "555-1234", "display": "Fax", "type": "fax"})]
    );
}

#[test]
fn booleans_sent_as_strings_are_coerced() {
    assert_eq!(
        patched(json!([{"op": "Replace", "path": "active", "value": "False"}]))["active"],
        false
    );
    assert_eq!(
        patched(json!([{"op": "replace", "value": {"active": "TRUE"}}]))["active"],
        true
    );
    let user = patched(
        json!([{"op": "replace", "path": "emails[primary eq \"True\"].value", "value": "w@example.com"}]),
    );
    assert_eq!(user["emails"][0]["value"], "w@example.com");
}

#[test]
fn path_less_values_with_dotted_and_urn_keys_are_paths() {
    let user = patched(json!([{"op": "replace", "value": {
        "displayName": "Bjfe",
        "name.givenName": "Kkom",
        "NAME.familyName": "Unua",
        format!("{ENTERPRISE}:employeeNumber"): "Aklq",
        ENTERPRISE: {"costCenter": "9"},
    }}]));
    assert_eq!(user["displayName"], "Bjfe");
    assert_eq!(user["name"]["givenName"], "Kkom");
    assert_eq!(user["name"]["familyName"], "Unua");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "Aklq");
    assert_eq!(user[ENTERPRISE]["costCenter"], "9");
    assert!(!user.contains_key("name.givenName"));
}

#[test]
fn unknown_attributes_and_echoes_are_ignored() {
    let before = bjensen();
    let result = patch(&before, json!([
        {"op": "replace", "value": {"id": "2819c223-7f76-453a-919d-413861904646", "meta": {"created": "04-12-2018 00:00:00"}, "shoeSize": 44}},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag", "value": "x"},
        {"op": "replace", "path": "password", "value": "hunter2"},
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:Druva:2.0:User:city", "value": "Pune"},
    ])).expect("tolerated");
    assert!(!result.changed);
    assert!(!result.resource.contains_key("password"));
    assert!(!result.notes.is_empty());
}

#[test]
fn insync_upn_is_stored_under_its_extension() {
    let urn = "urn:ietf:params:scim:schemas:extension:Druva:2.0:User";
    let user = patched(
        json!([{"op": "add", "path": format!("{urn}:userPrincipalName"), "value": "bj@corp"}]),
    );
    assert_eq!(user[urn]["userPrincipalName"], "bj@corp");
    assert!(
        user["schemas"]
            .as_array()
            .expect("schemas")
            .contains(&json!(urn))
    );
}

fn assert_error(error: scim::Error, scim_type: ScimType, fragment: &str) {
    assert_eq!(error.scim_type, Some(scim_type), "{error}");
    assert_eq!(error.status, 400);
    assert!(
        error.detail.contains(fragment),
        "detail {:?} lacks {fragment:?}",
        error.detail
    );
}

#[test]
fn read_only_targets_are_mutability_errors() {
    assert_error(
        failure(json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}])),
        ScimType::Mutability,
        "'groups' is readOnly",
    );
    assert_error(
        failure(json!([{"op": "replace", "path": "id", "value": "other"}])),
        ScimType::Mutability,
        "server assigns it",
    );
    assert_error(
        failure(json!([{"op": "remove", "path": "meta"}])),
        ScimType::Mutability,
        "cannot be removed",
    );
    assert_error(
        failure(json!([{"op": "replace", "path": "manager.displayName", "value": "x"}])),
        ScimType::Mutability,
        "readOnly",
    );
}

#[test]
fn required_attributes_cannot_be_removed() {
    assert_error(
        failure(json!([{"op": "remove", "path": "userName"}])),
        ScimType::Mutability,
        "'userName' is required",
    );
    assert_error(
        failure(json!([{"op": "replace", "path": "userName", "value": ""}])),
        ScimType::Mutability,
        "required",
    );
    assert_error(
        failure(json!([{"op": "replace", "value": {"userName": null}}])),
        ScimType::Mutability,
        "required",
    );
}

#[test]
fn malformed_requests_name_the_operation_and_the_scim_type() {
    assert_error(
        failure(json!([{"op": "remove"}])),
        ScimType::NoTarget,
        "operation 1",
    );
    assert_error(
        failure(json!([{"op": "merge", "path": "nickName", "value": "x"}])),
        ScimType::InvalidSyntax,
        "'op' must be",
    );
    assert_error(
        failure(json!([{"path": "nickName", "value": "x"}])),
        ScimType::InvalidSyntax,
        "missing",
    );
    assert_error(
        failure(json!([{"op": "add", "path": "nickName"}])),
        ScimType::InvalidValue,
        "needs a 'value'",
    );
    assert_error(
        failure(json!([{"op": "add", "path": "emails[type eq", "value": "x"}])),
        ScimType::InvalidPath,
        "character",
    );
    assert_error(
        failure(json!([{"op": "add", "path": 42, "value": "x"}])),
        ScimType::InvalidPath,
        "must be a string",
    );
    assert_error(
        failure(json!([{"op": "add", "path": "nickName[value eq \"x\"]", "value": "x"}])),
        ScimType::InvalidPath,
        "not complex",
    );
    assert_error(
        failure(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
        ScimType::InvalidValue,
        "'active' must be a boolean",
    );
    assert_error(
        failure(json!([{"op": "replace", "path": "displayName", "value": 7}])),
        ScimType::InvalidValue,
        "must be a string",
    );
    assert_error(
        failure(json!([{"op": "replace", "value": "not an object"}])),
        ScimType::InvalidValue,
        "without a 'path'",
    );
    assert_error(failure(json!([])), ScimType::InvalidSyntax, "empty");
    let error = PatchRequest::parse(&json!({"Operations": {"op": "add"}}), &USER)
        .expect_err("not an array");
    assert_eq!(error.scim_type, Some(ScimType::InvalidSyntax));
    let error = PatchRequest::parse(&json!([1, 2]), &USER).expect_err("not an object");
    assert_eq!(error.scim_type, Some(ScimType::InvalidSyntax));
}

/// `apply` borrows the resource and answers a new one or an error, so a failing operation
/// cannot leave the first half-applied here; what is stored is checked over HTTP
/// (`users_http.rs`). What can go wrong is the answer: the error names the failing operation.
#[test]
fn a_failing_operation_fails_the_whole_request_and_names_itself() {
    let result = patch(
        &bjensen(),
        json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "remove", "path": "userName"},
        ]),
    );
    let error = result.expect_err("second operation fails");
    assert_eq!(error.scim_type, Some(ScimType::Mutability));
    assert!(error.detail.starts_with("operation 2:"), "{}", error.detail);
}

#[test]
fn unchanged_patch_reports_no_change() {
    let result = patch(
        &bjensen(),
        json!([{"op": "replace", "path": "nickName", "value": "Babs"}]),
    )
    .expect("valid");
    assert!(!result.changed);
    let result = patch(
        &bjensen(),
        json!([{"op": "replace", "path": "nickName", "value": "Babz"}]),
    )
    .expect("valid");
    assert!(result.changed);
    for removal in [
        json!([{"op": "remove", "path": "nickName"}]),
        json!([{"op": "add", "path": "title", "value": "Tour Guide"}, {"op": "remove", "path": "nickName"}]),
        // Only the member count tells an added attribute from the stored ones.
        json!([{"op": "add", "path": "roles", "value": [{"value": "auditor"}]}]),
    ] {
        assert!(patch(&bjensen(), removal).expect("valid").changed);
    }
}

#[test]
fn too_many_operations_are_refused() {
    let operations: Vec<Value> = (0..1001)
        .map(|_| json!({"op": "add", "path": "nickName", "value": "x"}))
        .collect();
    assert_error(
        failure(Value::Array(operations)),
        ScimType::InvalidValue,
        "limit is 1000",
    );
}

/// Every PATCH an IdP fixture sends to `/Users/...` applies to a stored user.
#[test]
fn every_idp_fixture_user_patch_applies() {
    let fixtures = [
        (
            "entra",
            include_str!("../../../tests/fixtures/idp/entra.json"),
        ),
        (
            "okta",
            include_str!("../../../tests/fixtures/idp/okta.json"),
        ),
        (
            "jumpcloud",
            include_str!("../../../tests/fixtures/idp/jumpcloud.json"),
        ),
    ];
    let mut applied = 0;
    for (idp, text) in fixtures {
        let steps: Vec<Value> = serde_json::from_str(text).expect("fixture json");
        for step in steps {
            let is_user_patch = step["method"] == "PATCH"
                && step["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/Users/"));
            if !is_user_patch {
                continue;
            }
            let body = step["body"]
                .to_string()
                .replace("{{managerId}}", "26118915-6090-4610-87e4-49d8ca9f808d")
                .replace("{{id}}", "2819c223-7f76-453a-919d-413861904646")
                .replace("{{firstname}}", "Barbara");
            let body: Value = serde_json::from_str(&body).expect("json");
            let request = PatchRequest::parse(&body, &USER)
                .unwrap_or_else(|e| panic!("{idp} {}: {e}", step["name"]));
            let result = apply(&bjensen(), &request, &USER)
                .unwrap_or_else(|e| panic!("{idp} {}: {e}", step["name"]));
            assert!(result.resource.contains_key("userName"));
            applied += 1;
        }
    }
    assert!(applied >= 20, "only {applied} PATCH steps found");
}

#[test]
fn entra_fixture_shapes_have_their_effects() {
    let user = patched(
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"}, {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]),
    );
    assert_eq!(user["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(user["name"]["familyName"], "updatedFamilyName");

    let user = patched(json!([
        {"op": "add", "path": "addresses[type eq \"home\"].formatted", "value": "USZLTUSJXBYV"},
        {"op": "add", "path": "addresses[type eq \"home\"].locality", "value": "OSGODHEVDCVD"},
        {"op": "add", "path": "addresses[type eq \"home\"].region", "value": "YMVMOEMXAYGD"},
    ]));
    let homes: Vec<&Value> = user["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .filter(|a| a["type"] == "home")
        .collect();
    assert_eq!(
        homes,
        vec![
            &json!({"formatted": "USZLTUSJXBYV", "locality": "OSGODHEVDCVD", "region": "YMVMOEMXAYGD", "type": "home"})
        ]
    );

    let user = patched(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(user["active"], false);
}

/// A user with thousands of emails made every value-filtered PATCH and every `emails` filter
/// cost thousands of comparisons: an attribute holds at most MAX_VALUES values.
#[test]
fn no_multi_valued_attribute_grows_past_the_limit_in_one_value_or_op_by_op() {
    use scim::normalise::MAX_VALUES;
    let many: Vec<Value> = (0..=MAX_VALUES)
        .map(|n| json!({"value": format!("u{n}@example.com")}))
        .collect();
    let body = json!({"userName": "a@example.com", "emails": many});
    let error = normalise_resource(&body, &USER).unwrap_err();
    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
    assert!(
        error.detail.contains("the limit is 100"),
        "{}",
        error.detail
    );
    let error = failure(json!([{"op": "add", "path": "emails", "value": many}]));
    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
    // One value per operation: refused at the operation that goes past the limit, not only
    // at the end (bjensen has two emails).
    let one_each: Vec<Value> = (0..MAX_VALUES)
        .map(|n| json!({"op": "add", "path": "emails", "value": [{"value": format!("u{n}@example.com")}]}))
        .collect();
    let error = failure(Value::Array(one_each));
    assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
    assert!(
        error
            .detail
            .contains(&format!("operation {}:", MAX_VALUES - 1)),
        "{}",
        error.detail
    );
    let exactly: Vec<Value> = many[..MAX_VALUES].to_vec();
    let at_the_limit = patched(json!([{"op": "replace", "path": "emails", "value": exactly}]));
    assert_eq!(at_the_limit["emails"].as_array().unwrap().len(), MAX_VALUES);
}
