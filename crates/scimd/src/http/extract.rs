//! Extractors that turn every malformed request into a SCIM error: the JSON body, the query
//! string, the bearer token.

use super::AppState;
use super::response::ApiError;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{StatusCode, header, request::Parts};
use scimd_core::Principal;
use scimd_core::activity::Origin;
use serde_json::Value;

/// A JSON request body: `application/scim+json` or `application/json` (a charset parameter is
/// fine, a missing Content-Type is taken as JSON), at most the advertised payload size, with no
/// key repeated in an object. A POST or PUT body arrives already parsed (see [`ParsedBody`]).
#[derive(Debug)]
pub(crate) struct ScimJson(pub Value);

impl FromRequest<AppState> for ScimJson {
    type Rejection = ApiError;

    async fn from_request(mut request: Request, state: &AppState) -> Result<Self, ApiError> {
        check_content_type(request.headers().get(header::CONTENT_TYPE))?;
        if let Some(ParsedBody(parsed)) = request.extensions_mut().remove::<ParsedBody>() {
            return Ok(Self(parsed?));
        }
        let limit =
            usize::try_from(state.settings.capabilities.max_payload_size).unwrap_or(usize::MAX);
        let bytes = read_limited(request.into_body(), limit).await?;
        Ok(Self(parse_body(&bytes)?))
    }
}

/// A body the authentication layer read and parsed before the handler (a failed POST or PUT is
/// recorded under the userName it sent), handed on so that the handler acts on that same parse.
#[derive(Debug, Clone)]
pub(crate) struct ParsedBody(pub Result<Value, scim::Error>);

/// A request body as JSON; an empty body, invalid JSON or a repeated key is `invalidSyntax`.
pub(crate) fn parse_body(bytes: &[u8]) -> Result<Value, scim::Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(scim::Error::invalid_syntax(
            "the request body is empty; a JSON object is expected",
        ));
    }
    super::strict_json::parse(bytes).map_err(|error| {
        scim::Error::invalid_syntax(format!("the request body is not valid JSON: {error}"))
    })
}

fn check_content_type(value: Option<&header::HeaderValue>) -> Result<(), ApiError> {
    let Some(value) = value else { return Ok(()) };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if essence.eq_ignore_ascii_case("application/scim+json")
        || essence.eq_ignore_ascii_case("application/json")
    {
        Ok(())
    } else {
        Err(ApiError::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {essence:?} is not accepted: send application/scim+json or application/json"
            ),
        ))
    }
}

pub(crate) async fn read_limited(
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, BodyReadError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        if caused_by::<http_body_util::LengthLimitError>(&error) {
            BodyReadError::TooLarge { limit }
        } else if caused_by::<tower_http::timeout::TimeoutError>(&error) {
            BodyReadError::TimedOut
        } else {
            BodyReadError::Broken(error.to_string())
        }
    })
}

/// Whether `E` is anywhere in the error's chain of sources (body errors are boxed in layers).
fn caused_by<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current.is::<E>() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Why a request body could not be read; each is the client's doing.
#[derive(Debug)]
pub(crate) enum BodyReadError {
    TooLarge {
        limit: usize,
    },
    /// The body did not arrive within the body deadline (see `limits::deadlines`).
    TimedOut,
    Broken(String),
}

impl BodyReadError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TimedOut => StatusCode::REQUEST_TIMEOUT,
            Self::Broken(_) => StatusCode::BAD_REQUEST,
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Self::TooLarge { limit } => {
                format!("the request body exceeds the {limit}-byte limit (maxPayloadSize)")
            }
            Self::TimedOut => "the request body did not arrive in time".into(),
            Self::Broken(error) => format!("the request body could not be read: {error}"),
        }
    }
}

impl From<BodyReadError> for ApiError {
    fn from(error: BodyReadError) -> Self {
        match error {
            BodyReadError::Broken(_) => scim::Error::invalid_syntax(error.detail()).into(),
            _ => ApiError::status(error.status(), error.detail()),
        }
    }
}

/// The query string as name/value pairs; names are matched case-insensitively and unknown
/// parameters (such as Entra's `aadOptscim062020`) are ignored.
#[derive(Debug, Default)]
pub(crate) struct ScimQuery(Vec<(String, String)>);

impl ScimQuery {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ScimQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| Self(pairs))
            .map_err(|error| {
                scim::Error::invalid_value(format!("the query string is malformed: {error}")).into()
            })
    }
}

/// The authenticated caller and where its request came from, set by the
/// authentication middleware.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub Principal, pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    /// The authentication middleware put both there; without them, the route is not behind
    /// authentication, which is a programming error answered as 401.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let principal = parts.extensions.get::<Principal>().cloned();
        let origin = parts.extensions.get::<Origin>().cloned();
        principal
            .zip(origin)
            .map(|(principal, origin)| Self(principal, origin))
            .ok_or(ApiError(scimd_core::Error::Unauthorized))
    }
}

/// The SCIM base URL the client used (`http://host/scim/v2` or `.../insync/scim`), for
/// `Location` and `meta.location`; `--public-url` overrides scheme and host.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl(pub String);

/// The Host header is client input: only a plausible authority is echoed back in URLs.
pub(crate) fn plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Where this server is reached: the public URL, else the request's own (plausible) host.
pub(crate) fn request_origin(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    match &state.settings.public_url {
        Some(public) => public.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|host| plausible_host(host))
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let nested = axum::extract::NestedPath::from_request_parts(parts, state)
            .await
            .ok();
        let prefix = nested
            .as_ref()
            .map_or("", |nested| nested.as_str().trim_end_matches('/'));
        // Built by hand: every SCIM response names it, and two `format!`s cost more.
        let mut url = String::with_capacity(64);
        match &state.settings.public_url {
            Some(public) => url.push_str(public.trim_end_matches('/')),
            None => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                url.push_str("http://");
                url.push_str(if plausible_host(host) {
                    host
                } else {
                    "localhost"
                });
            }
        }
        url.push_str(prefix);
        Ok(Self(url))
    }
}
