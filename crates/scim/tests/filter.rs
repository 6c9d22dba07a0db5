//! Filters: the RFC 7644 §3.4.2.2 examples, IdP forms, type semantics and every class of bad
//! input, evaluated against the RFC 7643 §8.2 example user.

// Test helpers fail loudly: a panic is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scim::schema::USER;
use scim::{Filter, ScimType};
use serde_json::{Map, Value};

fn bjensen() -> Map<String, Value> {
    let text = include_str!("data/bjensen.json");
    serde_json::from_str(text).expect("fixture is a JSON object")
}

fn eval(text: &str) -> bool {
    let filter = Filter::parse_for(text, &USER).unwrap_or_else(|e| panic!("{text}: {e}"));
    filter.matches(&bjensen())
}

fn error(text: &str) -> scim::Error {
    Filter::parse_for(text, &USER).expect_err(text)
}

#[test]
fn rfc7644_3_4_2_2_examples_parse_and_evaluate() {
    let table = [
        (r#"userName eq "bjensen@example.com""#, true),
        (r#"name.familyName co "O'Malley""#, false),
        (r#"userName sw "J""#, false),
        (r#"userName sw "b""#, true),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B""#,
            true,
        ),
        ("title pr", true),
        (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
        (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
        (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
        (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
        (r#"title pr and userType eq "Employee""#, true),
        (r#"title pr or userType eq "Intern""#, true),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            true,
        ),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            true,
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            false,
        ),
        (
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            true,
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            true,
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            true,
        ),
    ];
    for (text, expected) in table {
        assert_eq!(eval(text), expected, "{text}");
    }
}

#[test]
fn precedence_is_not_then_and_then_or() {
    // `a or b and c` is `a or (b and c)`.
    assert!(eval(
        r#"title pr or userType eq "Intern" and nickName eq "nobody""#
    ));
    assert!(!eval(
        r#"(title pr or userType eq "Intern") and nickName eq "nobody""#
    ));
    assert!(!eval(r#"not (title pr) or userType eq "Intern""#));
    let parsed = Filter::parse(r#"a pr or b pr and c pr"#).expect("valid");
    assert_eq!(parsed.to_string(), "a pr or b pr and c pr");
    assert!(matches!(parsed, Filter::Or(ref operands) if operands.len() == 2));
}

#[test]
fn attribute_names_and_operators_are_case_insensitive() {
    assert!(eval(r#"USERNAME EQ "bjensen@example.com""#));
    assert!(eval(r#"Emails[Type Eq "work" AND Primary eq TRUE]"#));
    let canonical = Filter::parse_for(r#"NAME.FAMILYNAME eq "x""#, &USER).expect("valid");
    assert_eq!(canonical.to_string(), r#"name.familyName eq "x""#);
}

#[test]
fn case_exact_follows_the_schema() {
    // userName is caseExact=false; id and externalId are caseExact=true.
    assert!(eval(r#"userName eq "BJENSEN@EXAMPLE.COM""#));
    assert!(eval(r#"id eq "2819c223-7f76-453a-919d-413861904646""#));
    assert!(!eval(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
    assert!(!eval(r#"externalId ne "701984""#));
}

#[test]
fn entra_sub_attribute_after_value_filter_means_same_element() {
    assert!(eval(
        r#"emails[type eq "work"].value eq "bjensen@example.com""#
    ));
    assert!(!eval(
        r#"emails[type eq "work"].value eq "babs@jensen.org""#
    ));
    let parsed = Filter::parse(r#"emails[type eq "work"].value eq "x""#).expect("valid");
    assert_eq!(
        parsed.to_string(),
        r#"emails[type eq "work" and value eq "x"]"#
    );
}

#[test]
fn idp_encodings_are_tolerated() {
    assert!(eval(r#"userName+eq+"bjensen@example.com""#));
    assert!(eval(r#"userName%20eq%20"bjensen@example.com""#));
    assert!(eval("userName%20eq%20%22bjensen%40example.com%22"));
    assert!(eval("externalId eq 701984"));
    assert!(eval("id eq 2819c223-7f76-453a-919d-413861904646"));
    assert!(eval(r#"emails[primary eq "True"]"#));
}

#[test]
fn extension_attributes_filter_by_urn_or_short_name() {
    assert!(eval(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Tour Operations""#
    ));
    assert!(eval(
        r#"manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#
    ));
    assert!(eval(
        r#"manager[value eq "26118915-6090-4610-87e4-49d8ca9f808d"]"#
    ));
    // Entra's reference check compares the complex manager directly: its value is meant.
    assert!(eval(
        r#"id eq "2819c223-7f76-453a-919d-413861904646" and manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#
    ));
}

#[test]
fn absent_attributes_and_null() {
    assert!(!eval("nickName eq null"));
    assert!(eval("profileUrl ne null"));
    assert!(eval(r#"timezone ne "Europe/Paris""#));
    assert!(eval("name.honorificSuffix pr"));
    assert!(!eval(r#"phoneNumbers[type eq "fax"]"#));
    assert!(eval(
        r#"preferredLanguage ne "fr" and not (entitlements pr)"#
    ));
}

#[test]
fn numbers_and_dates_compare_by_value() {
    // 05:00+00:30 is 04:30Z, before the 04:56:22Z creation.
    assert!(!eval(r#"meta.created lt "2010-01-23T05:00:00+00:30""#));
    assert!(eval(r#"meta.created gt "2010-01-23T06:56:21+02:00""#));
}

fn assert_invalid_filter(text: &str, detail_fragment: &str) {
    let error = error(text);
    assert_eq!(error.status, 400, "{text}");
    assert_eq!(error.scim_type, Some(ScimType::InvalidFilter), "{text}");
    assert!(
        error.detail.contains(detail_fragment),
        "{text}: detail {:?} lacks {detail_fragment:?}",
        error.detail
    );
}

#[test]
fn syntax_errors_name_the_position() {
    assert_invalid_filter("userName eq", "character 12: expected a value after 'eq'");
    assert_invalid_filter(r#"userName zz "x""#, "character 10: expected an operator");
    assert_invalid_filter(r#"(userName eq "x""#, "expected ')'");
    assert_invalid_filter(
        r#"userName eq "x")"#,
        "character 16: expected the end of the input",
    );
    assert_invalid_filter(r#"userName eq "x" and"#, "expected an attribute path");
    assert_invalid_filter(r#""x" eq userName"#, "character 1");
    assert_invalid_filter(r#"emails[type eq "work""#, "expected ']'");
    assert_invalid_filter(r#"userName eq "unterminated"#, "unterminated string");
    assert_invalid_filter("", "expected an attribute path");
    assert_invalid_filter("1abc pr", "must start with a letter");
    assert_invalid_filter(
        r#"emails.value[type eq "work"]"#,
        "cannot follow the sub-attribute",
    );
}

#[test]
fn hostile_depth_and_length_are_refused_without_overflow() {
    let deep = format!("{}userName pr{}", "(".repeat(1000), ")".repeat(1000));
    assert_invalid_filter(&deep, "nesting deeper than 32 levels");
    let nots = format!("{}userName pr{}", "not (".repeat(1000), ")".repeat(1000));
    assert_invalid_filter(&nots, "nesting deeper than 32 levels");
    let long = format!(r#"userName eq "{}""#, "a".repeat(10_000));
    assert_invalid_filter(&long, "the limit is 8192");
    let wide = vec!["userName pr"; 500].join(" or ");
    assert!(Filter::parse(&wide).is_ok());
}

#[test]
fn schema_errors_explain_what_is_wrong() {
    assert_invalid_filter("shoeSize eq 42", "'shoeSize' is not an attribute of User");
    assert_invalid_filter("name.nickname pr", "not an attribute");
    assert_invalid_filter("active gt true", "cannot order a boolean");
    assert_invalid_filter("active co \"t\"", "applies to strings");
    assert_invalid_filter("active eq \"maybe\"", "is a boolean");
    assert_invalid_filter(r#"meta.lastModified gt "yesterday""#, "is a dateTime");
    assert_invalid_filter(r#"name eq "x""#, "is a complex attribute");
    assert_invalid_filter(r#"addresses eq "x""#, "is a complex attribute");
    assert_invalid_filter(r#"password eq "secret""#, "write-only");
    assert_invalid_filter(
        r#"urn:ietf:params:scim:schemas:extension:Druva:2.0:User:city eq "Pune""#,
        "write-only",
    );
    assert_invalid_filter(
        r#"emails[type eq "work" and emails[value pr]]"#,
        "cannot be nested",
    );
    assert_invalid_filter(r#"emails[nope eq "x"]"#, "not a sub-attribute of 'emails'");
    assert_invalid_filter(r#"userName[value eq "x"]"#, "not a complex attribute");
    assert_invalid_filter("userName gt null", "only 'eq' and 'ne'");
}
