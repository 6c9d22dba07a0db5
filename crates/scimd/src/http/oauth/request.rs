//! A token request as RFC 6749 §4.4 and §2.3 describe it, read from the form body and the
//! `Authorization` header; anything else is the RFC's error for it.

use base64::Engine;
use scimd_core::oauth::{OAuthError, OAuthErrorCode, SCOPE};

/// RFC 7523's client assertion type.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the client says who it is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ClientCredentials {
    /// `client_secret_basic` (`via_basic`) or `client_secret_post`.
    Secret {
        client_id: String,
        secret: String,
        via_basic: bool,
    },
    /// `private_key_jwt` (RFC 7523 §2.2): a signed assertion, and the client id if sent.
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
}

/// A well-formed client-credentials request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TokenRequest {
    pub credentials: ClientCredentials,
    /// The scope asked for, when one was ([`SCOPE`], the only one).
    pub scope: Option<String>,
}

/// A refusal, and whether the client had used HTTP Basic (its 401 then names the scheme).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub error: OAuthError,
    pub via_basic: bool,
}

fn refuse(code: OAuthErrorCode, description: impl Into<String>) -> Refusal {
    Refusal {
        error: OAuthError::new(code, description),
        via_basic: false,
    }
}

/// Reads a token request from its form `body` and `authorization` header.
pub(crate) fn parse(body: &[u8], authorization: Option<&str>) -> Result<TokenRequest, Refusal> {
    let mut form: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        // RFC 6749 §3.2: no parameter more than once.
        if form.iter().any(|(seen, _)| *seen == name) {
            return Err(refuse(
                OAuthErrorCode::InvalidRequest,
                format!("the parameter '{name}' is repeated"),
            ));
        }
        form.push((name.into_owned(), value.into_owned()));
    }
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            // RFC 6749 §3.1: a parameter sent without a value is as if omitted.
            .filter(|value| !value.is_empty())
    };
    match field("grant_type") {
        None => {
            return Err(refuse(
                OAuthErrorCode::InvalidRequest,
                "the parameter 'grant_type' is missing; this server issues tokens for \
                 grant_type=client_credentials",
            ));
        }
        Some("client_credentials") => {}
        Some(other) => {
            return Err(refuse(
                OAuthErrorCode::UnsupportedGrantType,
                format!(
                    "grant type {:?} is not supported; use client_credentials",
                    printable(other)
                ),
            ));
        }
    }
    let scope = match field("scope") {
        None => None,
        Some(scope) if scope.split(' ').all(|one| one == SCOPE) => Some(SCOPE.to_owned()),
        Some(scope) => {
            return Err(refuse(
                OAuthErrorCode::InvalidScope,
                format!(
                    "scope {:?} is not offered; the one scope is '{SCOPE}' (or none)",
                    printable(scope)
                ),
            ));
        }
    };
    let credentials = credentials(authorization, &field)?;
    Ok(TokenRequest { credentials, scope })
}

fn credentials<'a>(
    authorization: Option<&str>,
    field: &impl Fn(&str) -> Option<&'a str>,
) -> Result<ClientCredentials, Refusal> {
    let basic = authorization.map(basic_credentials).transpose()?;
    let posted_secret = field("client_secret");
    let assertion = match (field("client_assertion_type"), field("client_assertion")) {
        (None, None) => None,
        (Some(JWT_BEARER), Some(assertion)) => Some(assertion),
        (Some(JWT_BEARER), None) | (None, Some(_)) => {
            return Err(refuse(
                OAuthErrorCode::InvalidRequest,
                "client_assertion and client_assertion_type go together",
            ));
        }
        (Some(other), _) => {
            return Err(refuse(
                OAuthErrorCode::InvalidRequest,
                format!(
                    "client_assertion_type {:?} is not supported; use {JWT_BEARER}",
                    printable(other)
                ),
            ));
        }
    };
    let methods = usize::from(basic.is_some())
        + usize::from(posted_secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        // RFC 6749 §2.3: one authentication method per request.
        return Err(refuse(
            OAuthErrorCode::InvalidRequest,
            "the client authenticated more than one way; use one of HTTP Basic, client_secret \
             or client_assertion",
        ));
    }
    let posted_id = field("client_id");
    if let Some((client_id, secret)) = basic {
        if posted_id.is_some_and(|posted| posted != client_id) {
            return Err(refuse(
                OAuthErrorCode::InvalidRequest,
                "client_id differs from the client HTTP Basic names",
            ));
        }
        return Ok(ClientCredentials::Secret {
            client_id,
            secret,
            via_basic: true,
        });
    }
    if let Some(secret) = posted_secret {
        let Some(client_id) = posted_id else {
            return Err(refuse(
                OAuthErrorCode::InvalidRequest,
                "client_secret was sent without client_id",
            ));
        };
        return Ok(ClientCredentials::Secret {
            client_id: client_id.to_owned(),
            secret: secret.to_owned(),
            via_basic: false,
        });
    }
    if let Some(assertion) = assertion {
        return Ok(ClientCredentials::Assertion {
            client_id: posted_id.map(str::to_owned),
            assertion: assertion.to_owned(),
        });
    }
    Err(Refusal {
        error: OAuthError::new(
            OAuthErrorCode::InvalidClient,
            "no client authentication: send the client id and secret with HTTP Basic or as \
             client_id and client_secret",
        ),
        via_basic: false,
    })
}

/// `Authorization: Basic` as RFC 6749 §2.3.1 has it: the id and secret each form-encoded,
/// then joined by `:` and base64-encoded. Another scheme is a request error.
fn basic_credentials(header: &str) -> Result<(String, String), Refusal> {
    let unreadable = || Refusal {
        error: OAuthError::new(
            OAuthErrorCode::InvalidClient,
            "the Authorization header is not HTTP Basic credentials (base64 of id:secret)",
        ),
        via_basic: true,
    };
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(unreadable)?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(refuse(
            OAuthErrorCode::InvalidRequest,
            "the token endpoint takes HTTP Basic client credentials, not another scheme",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(unreadable)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(unreadable)?;
    let decode = |part: &str| -> String {
        form_urlencoded::parse(format!("v={part}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    Ok((decode(id), decode(secret)))
}

/// Client input quoted back in an error: at most 64 characters, no control characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    }

    fn code(body: &str, authorization: Option<&str>) -> OAuthErrorCode {
        parse(body.as_bytes(), authorization)
            .unwrap_err()
            .error
            .code
    }

    #[test]
    fn secrets_come_by_basic_or_in_the_body() {
        let request = parse(
            b"grant_type=client_credentials",
            Some(&basic("scimd_1", "s%3Ax")),
        )
        .unwrap();
        assert_eq!(
            request.credentials,
            ClientCredentials::Secret {
                client_id: "scimd_1".into(),
                secret: "s:x".into(),
                via_basic: true
            },
            "each part is form-decoded"
        );
        let request = parse(
            b"grant_type=client_credentials&client_id=scimd_1&client_secret=abc&scope=scim",
            None,
        )
        .unwrap();
        assert_eq!(request.scope.as_deref(), Some("scim"));
        assert!(matches!(
            request.credentials,
            ClientCredentials::Secret {
                via_basic: false,
                ..
            }
        ));
    }

    #[test]
    fn malformed_requests_get_the_rfc_error() {
        use OAuthErrorCode::*;
        let auth = basic("a", "b");
        let with_basic = Some(auth.as_str());
        assert_eq!(code("", with_basic), InvalidRequest);
        assert_eq!(
            code("grant_type=password", with_basic),
            UnsupportedGrantType
        );
        assert_eq!(
            code("grant_type=client_credentials&scope=admin", with_basic),
            InvalidScope
        );
        assert_eq!(
            code(
                "grant_type=client_credentials&grant_type=client_credentials",
                with_basic
            ),
            InvalidRequest
        );
        assert_eq!(code("grant_type=client_credentials", None), InvalidClient);
        assert_eq!(
            code(
                "grant_type=client_credentials&client_id=a&client_secret=b",
                with_basic
            ),
            InvalidRequest,
            "two methods"
        );
        assert_eq!(
            code("grant_type=client_credentials&client_secret=b", None),
            InvalidRequest
        );
        assert_eq!(
            code("grant_type=client_credentials", Some("Bearer x")),
            InvalidRequest
        );
        let refusal = parse(b"grant_type=client_credentials", Some("Basic !!!")).unwrap_err();
        assert_eq!(refusal.error.code, InvalidClient);
        assert!(refusal.via_basic);
        assert_eq!(
            code(
                "grant_type=client_credentials&client_assertion_type=x&client_assertion=y",
                None
            ),
            InvalidRequest
        );
    }

    #[test]
    fn assertions_are_read_with_the_optional_client_id() {
        let body = format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion=a.b.c",
            JWT_BEARER.replace(':', "%3A")
        );
        let request = parse(body.as_bytes(), None).unwrap();
        assert_eq!(
            request.credentials,
            ClientCredentials::Assertion {
                client_id: None,
                assertion: "a.b.c".into()
            }
        );
    }

    #[test]
    fn quoted_input_is_short_and_printable() {
        let refusal = parse(
            format!("grant_type={}%07", "x".repeat(500)).as_bytes(),
            None,
        )
        .unwrap_err();
        assert!(refusal.error.description.len() < 200);
        assert!(!refusal.error.description.contains('\u{7}'));
    }
}
