//! Every SCIM response, success or error, leaves through here with
//! `Content-Type: application/scim+json`.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimd_core::Error;
use serde::Serialize;

pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// A SCIM response: status, optional JSON body (serialised when the response is made), optional
/// `ETag` and `Location`.
#[derive(Debug)]
pub(crate) struct Scim {
    pub status: StatusCode,
    body: Option<Vec<u8>>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl Scim {
    /// `body` is a `Value`, a `ListResponse`, or text already rendered (`Box<RawValue>`).
    pub fn ok(body: impl Serialize) -> Self {
        Self::with_body(StatusCode::OK, body)
    }

    pub fn with_body(status: StatusCode, body: impl Serialize) -> Self {
        match serde_json::to_vec(&body) {
            Ok(bytes) => Self {
                status,
                body: Some(bytes),
                etag: None,
                location: None,
            },
            // Nothing scimd answers fails to serialise (its maps have string keys); should it
            // happen, the client gets a SCIM 500, not half a body.
            Err(error) => {
                tracing::error!(%error, "could not serialise a response body");
                Self::with_body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    internal_error().to_json(),
                )
            }
        }
    }

    /// A body that is JSON text already (a user spliced from its stored document).
    pub fn with_json_text(status: StatusCode, text: Vec<u8>) -> Self {
        Self {
            status,
            body: Some(text),
            etag: None,
            location: None,
        }
    }

    pub fn status(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            etag: None,
            location: None,
        }
    }

    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }
}

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(bytes) => (self.status, bytes).into_response(),
            None => self.status.into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        for (name, value) in [(header::ETAG, self.etag), (header::LOCATION, self.location)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(name, value);
            }
        }
        response
    }
}

fn internal_error() -> scim::Error {
    scim::Error::status(500, "internal server error; the server log has the details")
}

/// The status the admin faces (console pages, admin API) give a domain outcome; `None` for a
/// server-side failure, which they log and answer with a generic 500.
pub(crate) fn admin_status(error: &Error) -> Option<StatusCode> {
    match error {
        Error::NotFound(_) => Some(StatusCode::NOT_FOUND),
        Error::Conflict(_) => Some(StatusCode::CONFLICT),
        Error::Invalid(_) | Error::Scim(_) => Some(StatusCode::BAD_REQUEST),
        Error::Unauthorized => Some(StatusCode::UNAUTHORIZED),
        Error::Forbidden(_) => Some(StatusCode::FORBIDDEN),
        Error::PreconditionFailed(_) => Some(StatusCode::PRECONDITION_FAILED),
        Error::Internal(_) | Error::Store(_) => None,
    }
}

/// The one renderer of failures as RFC 7644 §3.12 bodies. Server-side failures are logged with
/// their cause and answered with a generic 500.
#[derive(Debug)]
pub(crate) struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self(error)
    }
}

impl From<scim::Error> for ApiError {
    fn from(error: scim::Error) -> Self {
        Self(Error::Scim(error))
    }
}

impl ApiError {
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self(Error::Scim(scim::Error::status(status.as_u16(), detail)))
    }

    fn protocol_error(&self) -> scim::Error {
        match &self.0 {
            Error::Scim(error) => error.clone(),
            Error::NotFound(detail) => scim::Error::not_found(detail.clone()),
            Error::Unauthorized => scim::Error::status(
                401,
                "authentication failed: send 'Authorization: Bearer <token>' with a valid token from `scimd token create`",
            ),
            Error::PreconditionFailed(detail) => scim::Error::status(412, detail.clone()),
            Error::Forbidden(detail) => scim::Error::status(403, detail.clone()),
            Error::Conflict(detail) => scim::Error::status(409, detail.clone()),
            Error::Invalid(detail) => scim::Error::invalid_value(detail.clone()),
            Error::Internal(_) | Error::Store(_) => {
                tracing::error!(error = %self.0, cause = ?std::error::Error::source(&self.0), "request failed");
                internal_error()
            }
        }
    }
}

/// What a failed response said, carried in its extensions for the activity log: the error,
/// and the exact body the client receives (shared, not copied).
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub error: scim::Error,
    pub body: Bytes,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = self.protocol_error();
        let status =
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Cannot fail: an error's JSON is strings and a number.
        let body = Bytes::from(serde_json::to_vec(&error.to_json()).unwrap_or_default());
        let mut response = (status, body.clone()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scimd\""),
            );
        }
        response.extensions_mut().insert(Failure { error, body });
        response
    }
}
