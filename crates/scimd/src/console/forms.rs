//! Forms posted to the console: each handler names its fields as a type, read trimmed, with
//! the session's CSRF token checked before the handler runs.

use super::auth::Signed;
use super::pages::PageError;
use crate::http::AppState;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use std::ops::Deref;

/// A form field as the console reads it: trimmed, and "" when the form leaves it out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Field(String);

impl Field {
    /// The text, or `None` when the field was left empty.
    pub fn non_empty(&self) -> Option<&str> {
        Some(self.0.as_str()).filter(|text| !text.is_empty())
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl Deref for Field {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Self(text.trim().to_owned()))
    }
}

/// A form with nothing but its CSRF token (a button).
#[derive(serde::Deserialize, Default)]
pub(super) struct NoFields {}

/// The CSRF token every form carries, beside the handler's own fields.
#[derive(serde::Deserialize)]
struct WithCsrf<F> {
    #[serde(default)]
    csrf: Field,
    #[serde(flatten)]
    fields: F,
}

/// A form posted from a page of this console: the signed-in admin and the form's fields, with
/// the session's CSRF token (the `csrf` field or htmx's `X-CSRF-Token` header) checked, and the
/// console's own origin checked before routing (`same_origin`). A handler that takes it cannot
/// forget either; the operation it calls checks the admin's role itself.
pub(super) struct Posted<F> {
    pub signed: Signed,
    pub form: F,
}

impl<F: DeserializeOwned + Send> FromRequest<AppState> for Posted<F> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let Form(WithCsrf { csrf, fields }) =
            Form::<WithCsrf<F>>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|rejection| {
                    PageError::Failed(scimd_core::Error::Invalid(format!(
                        "the form could not be read: {}",
                        rejection.body_text()
                    )))
                    .into_response()
                })?;
        signed
            .check_csrf(&headers, csrf.non_empty())
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            signed,
            form: fields,
        })
    }
}
