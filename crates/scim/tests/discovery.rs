//! `/Schemas`, `/ResourceTypes` and `/ServiceProviderConfig` against golden files.
//! After an intended change, regenerate with `SCIMD_BLESS=1 cargo test -p scim --test discovery`
//! and review the diff.

// Test helpers fail loudly: a panic is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim::discovery::{self, Capabilities};
use scim::schema::{USER, user};
use serde_json::Value;
use std::path::PathBuf;

const BASE: &str = "https://scim.example.com/scim/v2";

fn check_golden(name: &str, actual: &impl serde::Serialize) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let rendered = serde_json::to_string_pretty(actual).expect("serialisable") + "\n";
    // Only `1`: `SCIMD_BLESS=0` or an empty value left in the environment must not rewrite them.
    if std::env::var("SCIMD_BLESS").is_ok_and(|bless| bless == "1") {
        std::fs::write(&path, &rendered).expect("golden file written");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != rendered {
        let new_path = path.with_extension("new.json");
        std::fs::write(&new_path, &rendered).expect("candidate written");
        panic!(
            "{name} differs from its golden file; see {}",
            new_path.display()
        );
    }
}

#[test]
fn schemas_document_matches_golden_file() {
    check_golden("schemas.json", &discovery::schemas(BASE, &[&USER]));
}

#[test]
fn resource_types_document_matches_golden_file() {
    check_golden(
        "resource_types.json",
        &discovery::resource_types(BASE, &[&USER]),
    );
}

#[test]
fn service_provider_config_matches_golden_file() {
    check_golden(
        "service_provider_config.json",
        &discovery::service_provider_config(BASE, Capabilities::default()),
    );
}

#[test]
fn groups_are_not_advertised() {
    let types = discovery::resource_types(BASE, &[&USER]);
    assert_eq!(types.total_results, 1);
    assert!(discovery::resource_type(BASE, &[&USER], "Group").is_none());
    assert!(
        !serde_json::to_string(&discovery::schemas(BASE, &[&USER]))
            .unwrap()
            .contains("core:2.0:Group")
    );
}

#[test]
fn single_schema_and_resource_type_lookups_are_case_insensitive() {
    let insync =
        discovery::schema(BASE, &[&USER], &user::INSYNC_USER_URN.to_uppercase()).expect("found");
    assert_eq!(insync["id"], user::INSYNC_USER_URN);
    assert_eq!(
        discovery::resource_type(BASE, &[&USER], "user").expect("found")["endpoint"],
        "/Users"
    );
    assert!(discovery::schema(BASE, &[&USER], "urn:nope").is_none());
}

#[test]
fn insync_custom_attributes_are_advertised_as_write_only_never_returned() {
    let insync = discovery::schema(BASE, &[&USER], user::INSYNC_USER_URN).expect("found");
    let attributes = insync["attributes"].as_array().expect("array");
    let upn = attributes
        .iter()
        .find(|a| a["name"] == "userPrincipalName")
        .expect("upn");
    assert_eq!(upn["mutability"], "readWrite");
    for name in ["city", "country", "department"] {
        let custom = attributes.iter().find(|a| a["name"] == name).expect(name);
        assert_eq!(custom["mutability"], "writeOnly");
        assert_eq!(custom["returned"], "never");
    }
}

#[test]
fn every_attribute_carries_the_rfc7643_characteristics() {
    fn check(attribute: &Value) {
        for key in [
            "name",
            "type",
            "multiValued",
            "description",
            "required",
            "mutability",
            "returned",
        ] {
            assert!(
                attribute.get(key).is_some(),
                "{} lacks {key}",
                attribute["name"]
            );
        }
        if attribute["type"] == "complex" {
            attribute["subAttributes"]
                .as_array()
                .expect("subAttributes")
                .iter()
                .for_each(check);
        } else {
            assert!(attribute.get("uniqueness").is_some());
        }
        if attribute["type"] == "string" {
            assert!(attribute.get("caseExact").is_some());
        }
    }
    let schemas = discovery::schemas(BASE, &[&USER]);
    for schema in &schemas.resources {
        schema["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .for_each(check);
    }
}
