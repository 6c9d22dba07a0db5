//! What the product account takes from a SCIM user: its display name (R-32), its account name
//! (R-41) and its UPN (R-43). The SCIM resource itself keeps exactly what the IdP sent.

use scim::schema::user::INSYNC_USER_URN;
use serde_json::{Map, Value};

/// R-32: `displayName`, else `name.formatted`, else given and family name, else the local part
/// of the userName (Druva fails instead; scimd derives one).
pub fn display_name(resource: &Map<String, Value>) -> String {
    let name = resource.get("name");
    if let Some(display) = text(resource.get("displayName")) {
        return display.to_owned();
    }
    if let Some(formatted) = text(name.and_then(|n| n.get("formatted"))) {
        return formatted.to_owned();
    }
    let parts: Vec<&str> = ["givenName", "familyName"]
        .iter()
        .filter_map(|part| text(name.and_then(|n| n.get(*part))))
        .collect();
    if !parts.is_empty() {
        return parts.join(" ");
    }
    let user_name = resource
        .get("userName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    user_name.split('@').next().unwrap_or(user_name).to_owned()
}

/// A non-blank string value, trimmed.
fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// R-41: in the stored account name, each of `? * / \ < >` becomes `_`.
pub fn account_name(display_name: &str) -> String {
    display_name
        .chars()
        .map(|c| {
            if matches!(c, '?' | '*' | '/' | '\\' | '<' | '>') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// R-43: the inSync extension's `userPrincipalName`, else the display name.
pub fn upn(resource: &Map<String, Value>, display_name: &str) -> String {
    resource
        .get(INSYNC_USER_URN)
        .and_then(|extension| extension.get("userPrincipalName"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|upn| !upn.is_empty())
        .unwrap_or(display_name)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn r32_display_name_is_derived_when_absent() {
        assert_eq!(
            display_name(&resource(
                json!({"userName": "a@b.co", "displayName": "Babs"})
            )),
            "Babs"
        );
        let formatted = json!({"userName": "a@b.co", "name": {"formatted": "Ms. Barbara Jensen", "givenName": "B"}});
        assert_eq!(display_name(&resource(formatted)), "Ms. Barbara Jensen");
        let parts = json!({"userName": "a@b.co", "displayName": " ", "name": {"givenName": "Barbara", "familyName": "Jensen"}});
        assert_eq!(display_name(&resource(parts)), "Barbara Jensen");
        assert_eq!(
            display_name(&resource(json!({"userName": "bjensen@example.com"}))),
            "bjensen"
        );
    }

    #[test]
    fn r41_account_name_replaces_forbidden_characters() {
        assert_eq!(account_name(r"a?b*c/d\e<f>g h"), "a_b_c_d_e_f_g h");
        assert_eq!(account_name("Ünïcode Name"), "Ünïcode Name");
    }

    #[test]
    fn r43_upn_comes_from_the_insync_extension_or_the_display_name() {
        let with_upn =
            json!({"userName": "a@b.co", INSYNC_USER_URN: {"userPrincipalName": "a@corp.local"}});
        assert_eq!(upn(&resource(with_upn), "A"), "a@corp.local");
        assert_eq!(
            upn(&resource(json!({"userName": "a@b.co"})), "Barbara Jensen"),
            "Barbara Jensen"
        );
    }
}
