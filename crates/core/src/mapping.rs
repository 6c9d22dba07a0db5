//! Mappings: the rules that classify a new user into a profile and a storage (SPEC §5).
//!
//! This module is the pure part: criteria, their value lists, and the evaluation at
//! creation with an explanation per mapping, which is also what the preview shows.

use crate::error::{Error, Result};
use scim::normalise::CustomAttributes;
use scim::schema::user::{CORE_USER_URN, ENTERPRISE_USER_URN, INSYNC_USER_URN};
use serde_json::{Map, Value};
use std::fmt;

/// The text Druva answers when no mapping matches; scimd appends what it saw.
pub const NO_MAPPING_MATCHED: &str = "None of the SCIM Mapping matched to create user.";

/// any user, or one attribute with one or more values (any one matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Criteria {
    AllowAnyUser,
    Attribute { name: String, values: Vec<String> },
}

impl Criteria {
    /// An attribute criterion from the console/CLI spelling of its values.
    pub fn attribute(name: &str, values: &str) -> Result<Self> {
        let name = name.trim();
        let valid_name = !name.is_empty()
            && name.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-' | '$'));
        if !valid_name {
            return Err(Error::Invalid(format!(
                "{name:?} is not an attribute name (e.g. department, urn:...:User:city)"
            )));
        }
        Ok(Self::Attribute {
            name: name.to_owned(),
            values: parse_values(values)?,
        })
    }
}

impl fmt::Display for Criteria {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AllowAnyUser => f.write_str("any user"),
            Self::Attribute { name, values } => write!(f, "{name} in [{}]", format_values(values)),
        }
    }
}

/// values are comma-separated; when a value itself holds a comma, the list is separated by
/// semicolons instead (`Druva,ind;Druva,usa`). Blanks around separators are dropped; values are
/// otherwise kept exactly (R-22: matching is case-sensitive).
pub fn parse_values(text: &str) -> Result<Vec<String>> {
    let separator = if text.contains(';') { ';' } else { ',' };
    let values: Vec<String> = text
        .split(separator)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
        .collect();
    if values.is_empty() {
        return Err(Error::Invalid(
            "a mapping needs at least one attribute value".into(),
        ));
    }
    Ok(values)
}

/// The inverse of [`parse_values`], for display and for editing.
pub fn format_values(values: &[String]) -> String {
    let separator = if values.iter().any(|value| value.contains(',')) {
        ";"
    } else {
        ","
    };
    values.join(separator)
}

/// What a create request offers for matching: the normalised resource and the custom
/// attributes set aside for this purpose.
#[derive(Debug, Clone, Copy)]
pub struct MatchInput<'a> {
    pub resource: &'a Map<String, Value>,
    pub custom: &'a CustomAttributes,
}

/// Why a mapping did or did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// AllowAnyUser, or one of the values was found.
    Matched,
    /// The IdP did not send the attribute: the mapping cannot match.
    AttributeNotSent,
    /// The attribute was sent with other values.
    ValueNotListed { seen: Vec<String> },
}

/// One line of an evaluation: a mapping (by name and priority) and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub mapping: String,
    pub priority: u32,
    pub criteria: Criteria,
    pub verdict: Verdict,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match &self.verdict {
            Verdict::Matched => "matches".to_owned(),
            Verdict::AttributeNotSent => "does not match: the attribute was not sent".to_owned(),
            Verdict::ValueNotListed { seen } => {
                format!("does not match: the user has [{}]", format_values(seen))
            }
        };
        write!(
            f,
            "#{} '{}' ({}) {why}",
            self.priority, self.mapping, self.criteria
        )
    }
}

/// mappings in priority order, the first match wins; every mapping up to it is explained.
/// `mappings` are `(name, priority, criteria)` in any order.
pub fn evaluate<'m>(
    mappings: impl IntoIterator<Item = (&'m str, u32, &'m Criteria)>,
    input: MatchInput<'_>,
) -> (Option<String>, Vec<Explanation>) {
    let mut ordered: Vec<_> = mappings.into_iter().collect();
    ordered.sort_by_key(|(_, priority, _)| *priority);
    let mut explanations = Vec::new();
    for (name, priority, criteria) in ordered {
        let verdict = verdict(criteria, input);
        let matched = verdict == Verdict::Matched;
        explanations.push(Explanation {
            mapping: name.to_owned(),
            priority,
            criteria: criteria.clone(),
            verdict,
        });
        if matched {
            return (Some(name.to_owned()), explanations);
        }
    }
    (None, explanations)
}

/// Druva's error text followed by what each mapping saw, for the IdP and the activity log.
pub fn no_match_detail(explanations: &[Explanation]) -> String {
    if explanations.is_empty() {
        return format!("{NO_MAPPING_MATCHED} This tenant has no mappings.");
    }
    let seen: Vec<String> = explanations.iter().map(ToString::to_string).collect();
    format!("{NO_MAPPING_MATCHED} {}", seen.join("; "))
}

fn verdict(criteria: &Criteria, input: MatchInput<'_>) -> Verdict {
    match criteria {
        Criteria::AllowAnyUser => Verdict::Matched,
        Criteria::Attribute { name, values } => match lookup(name, input) {
            None => Verdict::AttributeNotSent,
            // case-sensitive.
            Some(seen) if seen.iter().any(|value| values.contains(value)) => Verdict::Matched,
            Some(seen) => Verdict::ValueNotListed { seen },
        },
    }
}

/// The values of a mapping attribute in a create request. A URN-qualified name looks
/// only in its own namespace; a plain name looks in the inSync extension, then the top-level
/// keys, then the enterprise extension. Names compare case-insensitively; `a.b` reads a
/// sub-attribute (of each element of a multi-valued attribute).
pub fn lookup(name: &str, input: MatchInput<'_>) -> Option<Vec<String>> {
    let insync = || {
        merged(
            input
                .resource
                .get(INSYNC_USER_URN)
                .and_then(Value::as_object),
            Some(&input.custom.insync),
        )
    };
    let top = || merged(Some(input.resource), Some(&input.custom.top_level));
    let enterprise = || {
        merged(
            input
                .resource
                .get(ENTERPRISE_USER_URN)
                .and_then(Value::as_object),
            None,
        )
    };
    match name.rsplit_once(':') {
        Some((urn, attribute)) => {
            let scope = if urn.eq_ignore_ascii_case(INSYNC_USER_URN) {
                insync()
            } else if urn.eq_ignore_ascii_case(ENTERPRISE_USER_URN) {
                enterprise()
            } else if urn.eq_ignore_ascii_case(CORE_USER_URN) {
                top()
            } else {
                return None;
            };
            values_at(&scope, attribute)
        }
        None => [insync(), top(), enterprise()]
            .iter()
            .find_map(|scope| values_at(scope, name)),
    }
}

/// The keys of a stored object and of its set-aside custom attributes, as one scope.
fn merged(
    stored: Option<&Map<String, Value>>,
    custom: Option<&Map<String, Value>>,
) -> Vec<(String, Value)> {
    stored
        .into_iter()
        .chain(custom)
        .flat_map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect()
}

fn values_at(scope: &[(String, Value)], name: &str) -> Option<Vec<String>> {
    let (attribute, sub) = match name.split_once('.') {
        Some((attribute, sub)) => (attribute, Some(sub)),
        None => (name, None),
    };
    let value = scope
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(attribute))
        .map(|(_, value)| value)?;
    let mut values = Vec::new();
    collect(value, sub, &mut values);
    (!values.is_empty()).then_some(values)
}

fn collect(value: &Value, sub: Option<&str>, out: &mut Vec<String>) {
    match (value, sub) {
        (Value::Array(items), _) => items.iter().for_each(|item| collect(item, sub, out)),
        (Value::Object(members), Some(sub)) => {
            if let Some((_, inner)) = members
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(sub))
            {
                collect(inner, None, out);
            }
        }
        (Value::String(text), None) => out.push(text.clone()),
        (Value::Number(number), None) => out.push(number.to_string()),
        (Value::Bool(flag), None) => out.push(flag.to_string()),
        (
            Value::Object(_) | Value::Null | Value::String(_) | Value::Number(_) | Value::Bool(_),
            _,
        ) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim::normalise::normalise_resource;
    use scim::schema::USER;
    use serde_json::json;

    fn evaluate_body(
        mappings: &[(&str, u32, Criteria)],
        body: Value,
    ) -> (Option<String>, Vec<Explanation>) {
        let normalised = normalise_resource(&body, &USER).expect("valid body");
        let input = MatchInput {
            resource: &normalised.resource,
            custom: &normalised.custom,
        };
        evaluate(
            mappings
                .iter()
                .map(|(name, priority, criteria)| (*name, *priority, criteria)),
            input,
        )
    }

    fn attribute(name: &str, values: &str) -> Criteria {
        Criteria::attribute(name, values).expect("valid criteria")
    }

    #[test]
    fn r21_values_split_on_commas_or_on_semicolons_when_a_value_has_a_comma() {
        assert_eq!(
            parse_values("Sales, Marketing ,HR").unwrap(),
            ["Sales", "Marketing", "HR"]
        );
        assert_eq!(
            parse_values("Druva,ind;Druva,usa").unwrap(),
            ["Druva,ind", "Druva,usa"]
        );
        assert_eq!(
            format_values(&["Druva,ind".into(), "Druva,usa".into()]),
            "Druva,ind;Druva,usa"
        );
        assert_eq!(format_values(&["a".into(), "b".into()]), "a,b");
        assert!(matches!(parse_values(" , , "), Err(Error::Invalid(_))));
        assert!(matches!(parse_values(" ; ;"), Err(Error::Invalid(_))));
        assert_eq!(
            parse_values(",;x").unwrap(),
            [",", "x"],
            "with semicolons, commas belong to values"
        );
        assert!(matches!(
            Criteria::attribute("bad name", "x"),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn r22_values_match_case_sensitively() {
        let mappings = [("Eng", 1, attribute("department", "Engineering"))];
        let body = json!({"userName": "a@b.co", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "engineering"}});
        let (matched, explanations) = evaluate_body(&mappings, body);
        assert_eq!(matched, None);
        assert_eq!(
            explanations[0].verdict,
            Verdict::ValueNotListed {
                seen: vec!["engineering".into()]
            }
        );
    }

    #[test]
    fn r26_first_match_in_priority_order_wins() {
        let mappings = [
            ("Catch-all", 3, Criteria::AllowAnyUser),
            ("India", 1, attribute("country", "IN,India")),
            ("Sales", 2, attribute("department", "Sales")),
        ];
        let body = json!({"userName": "a@b.co", "urn:ietf:params:scim:schemas:extension:Druva:2.0:User": {"department": "Sales"}});
        let (matched, explanations) = evaluate_body(&mappings, body);
        assert_eq!(matched.as_deref(), Some("Sales"));
        assert_eq!(explanations.len(), 2, "evaluation stops at the first match");
        assert_eq!(explanations[0].verdict, Verdict::AttributeNotSent);
    }

    #[test]
    fn r26_plain_names_look_in_insync_then_top_level_then_enterprise() {
        let mappings = [("Dept", 1, attribute("department", "from-insync"))];
        let all_three = json!({
            "userName": "a@b.co",
            "department": "from-top-level",
            "urn:ietf:params:scim:schemas:extension:Druva:2.0:User": {"department": "from-insync"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "from-enterprise"}
        });
        assert_eq!(
            evaluate_body(&mappings, all_three).0.as_deref(),
            Some("Dept")
        );
        let top_and_enterprise = json!({
            "userName": "a@b.co", "department": "from-top-level",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "from-enterprise"}
        });
        let (_, explanations) = evaluate_body(&mappings, top_and_enterprise);
        assert_eq!(
            explanations[0].verdict,
            Verdict::ValueNotListed {
                seen: vec!["from-top-level".into()]
            }
        );
        let enterprise_only = json!({"userName": "a@b.co", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "from-enterprise"}});
        let (_, explanations) = evaluate_body(&mappings, enterprise_only);
        assert_eq!(
            explanations[0].verdict,
            Verdict::ValueNotListed {
                seen: vec!["from-enterprise".into()]
            }
        );
    }

    #[test]
    fn r26_urn_qualified_names_match_only_their_own_namespace() {
        let enterprise_department =
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
        let mappings = [("Ent", 1, attribute(enterprise_department, "Finance"))];
        let in_insync_only = json!({"userName": "a@b.co", "urn:ietf:params:scim:schemas:extension:Druva:2.0:User": {"department": "Finance"}});
        assert_eq!(
            evaluate_body(&mappings, in_insync_only).1[0].verdict,
            Verdict::AttributeNotSent
        );
        let in_enterprise = json!({"userName": "a@b.co", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Finance"}});
        assert_eq!(
            evaluate_body(&mappings, in_enterprise).0.as_deref(),
            Some("Ent")
        );
        let unknown_namespace = [(
            "X",
            1,
            attribute("urn:example:ext:1.0:User:department", "Finance"),
        )];
        let body = json!({"userName": "a@b.co", "department": "Finance"});
        assert_eq!(
            evaluate_body(&unknown_namespace, body).1[0].verdict,
            Verdict::AttributeNotSent
        );
    }

    #[test]
    fn r44_custom_attributes_classify_and_okta_top_level_keys_count() {
        let mappings = [
            ("India", 1, attribute("countryCode", "IN")),
            ("Pune", 2, attribute("city", "Pune")),
        ];
        let okta = json!({"userName": "a@b.co", "countryCode": "IN"});
        assert_eq!(evaluate_body(&mappings, okta).0.as_deref(), Some("India"));
        let insync_custom = json!({"userName": "a@b.co", "urn:ietf:params:scim:schemas:extension:Druva:2.0:User": {"city": "Pune"}});
        assert_eq!(
            evaluate_body(&mappings, insync_custom).0.as_deref(),
            Some("Pune")
        );
    }

    #[test]
    fn sub_attributes_and_multi_valued_attributes_offer_every_value() {
        let mappings = [
            ("Home", 1, attribute("emails.type", "home")),
            ("Mgr", 2, attribute("manager.value", "m1")),
        ];
        let body = json!({"userName": "a@b.co", "emails": [{"value": "a@b.co", "type": "work"}, {"value": "x@y.z", "type": "home"}]});
        assert_eq!(evaluate_body(&mappings, body).0.as_deref(), Some("Home"));
        let body = json!({"userName": "a@b.co", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "m1"}});
        assert_eq!(evaluate_body(&mappings, body).0.as_deref(), Some("Mgr"));
    }

    #[test]
    fn r30_no_match_detail_starts_with_druvas_text_and_says_what_was_seen() {
        let mappings = [
            ("Eng", 1, attribute("department", "Engineering")),
            ("IN", 2, attribute("country", "IN")),
        ];
        let body = json!({"userName": "a@b.co", "department": "Finance"});
        let (matched, explanations) = evaluate_body(&mappings, body);
        assert_eq!(matched, None);
        let detail = no_match_detail(&explanations);
        assert!(detail.starts_with(NO_MAPPING_MATCHED), "{detail}");
        assert!(
            detail.contains(
                "#1 'Eng' (department in [Engineering]) does not match: the user has [Finance]"
            ),
            "{detail}"
        );
        assert!(
            detail.contains("#2 'IN' (country in [IN]) does not match: the attribute was not sent"),
            "{detail}"
        );
        assert!(no_match_detail(&[]).contains("no mappings"));
    }
}
