//! Property tests: printing then parsing any filter or PATCH path gives back the same AST, and
//! no input makes the parsers panic.

// Test helpers fail loudly: a panic is how a test reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use scim::filter::{CompValue, CompareOp};
use scim::{AttrPath, Filter, PatchPath};

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,7}"
}

fn urn() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some("urn:ietf:params:scim:schemas:core:2.0:User".to_owned())),
        1 => Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned())),
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (
        urn(),
        name(),
        proptest::option::of(prop_oneof![name(), Just("$ref".to_owned())]),
    )
        .prop_map(|(urn, name, sub_attr)| AttrPath {
            urn,
            name,
            sub_attr,
        })
}

fn plain_path() -> impl Strategy<Value = AttrPath> {
    (urn(), name()).prop_map(|(urn, name)| AttrPath {
        urn,
        name,
        sub_attr: None,
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::String),
        "[a-z@.+% \"\\\\]{0,12}".prop_map(CompValue::String),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(CompareOp::ALL.to_vec())
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        attr_path().prop_map(Filter::Present),
        (attr_path(), op(), comp_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            (plain_path(), inner).prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn filter_display_round_trips(ast in filter()) {
        let text = ast.to_string();
        let parsed = Filter::parse(&text);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&ast), "text: {}, result: {:?}", text, parsed);
    }

    #[test]
    fn patch_path_display_round_trips(
        path in plain_path(),
        sub in proptest::option::of(name()),
        inner in proptest::option::of(filter()),
    ) {
        let attr = AttrPath { sub_attr: sub, ..path };
        let patch_path = PatchPath { attr, filter: inner };
        let text = patch_path.to_string();
        let parsed = PatchPath::parse(&text);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&patch_path), "text: {}", text);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in any::<String>()) {
        let _ = Filter::parse(&text);
        let _ = PatchPath::parse(&text);
        let _ = AttrPath::parse(&text);
    }

    #[test]
    fn parsers_never_panic_on_filter_shaped_text(text in "[a-z \"()\\[\\].+%0-9:]{0,60}") {
        if let Ok(filter) = Filter::parse(&text) {
            // Whatever parses prints to something that parses to the same tree.
            prop_assert_eq!(Filter::parse(&filter.to_string()).ok(), Some(filter));
        }
        let _ = Filter::parse_for(&text, &scim::schema::USER);
    }
}
