//! `/Users`: create, list, search, read, replace, patch, delete (RFC 7644 §3.3–§3.6).
//!
//! Each handler boxes its provisioner call: the store's futures are kilobytes, and axum moves a
//! handler's future by value through its layers, a copy each time (it showed in profiles).

use super::AppState;
use super::activity::attempting;
use super::extract::{BaseUrl, Caller, ScimJson, ScimQuery};
use super::limits::off_the_workers;
use super::response::{ApiError, Scim};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use scim::list::{ListResponse, SearchRequest};
use scim::projection::Projection;
use scim::schema::USER;
use scimd_core::activity::Origin;
use scimd_core::store::UserPage;
use scimd_core::tenant::TenantId;
use scimd_core::user::{StoredUser, User};
use serde_json::Value;
use serde_json::value::RawValue;

/// Each route names the operation it attempts, for the activity log's record of a failure.
pub(crate) fn router() -> Router<AppState> {
    let by_id = get(attempting("read", read))
        .put(attempting("replace", replace))
        .patch(attempting("update", patch))
        .delete(attempting("delete", delete));
    let search = || post(attempting("search", search)).fallback(method_not_allowed);
    Router::new()
        .route(
            "/Users",
            get(attempting("list", list))
                .post(attempting("create", create))
                .fallback(method_not_allowed),
        )
        .route("/Users/.search", search())
        // RFC 7644 §3.4.3: a search at the root spans every resource type; User is the only one.
        .route("/.search", search())
        .route("/Users/{id}", by_id.fallback(method_not_allowed))
}

async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed here"),
    )
}

/// A resource as a read (GET, list) shows it: with the default projection its stored text is
/// spliced (see [`StoredUser`]); any other projection picks from its values. A stored document
/// that is not a JSON object is a server fault.
fn read_text(
    user: &StoredUser,
    base: &BaseUrl,
    projection: &Projection,
) -> Result<Vec<u8>, ApiError> {
    let text = if projection.is_default() {
        user.render(&base.0)
    } else {
        user.resource(&base.0)
            .and_then(|resource| serde_json::to_vec(&projection.apply(resource, &USER)))
    };
    text.map_err(|error| {
        ApiError(scimd_core::Error::Internal(format!(
            "the stored document of user {} is not a JSON object: {error}",
            user.scim_id
        )))
    })
}

fn list_response<R>(resources: Vec<R>, page: UserPage) -> ListResponse<R> {
    ListResponse {
        total_results: page.total,
        resources,
        start_index: page.start_index,
        next_cursor: page.next_cursor,
        previous_cursor: None,
    }
}

/// The resource and its ETag after a replace or patch (`200 OK`) or a create. With the
/// default projection, the user's document is printed once and spliced (see [`StoredUser`]).
fn rendered_with_etag(
    status: StatusCode,
    user: User,
    base: &BaseUrl,
    projection: &Projection,
) -> Result<Scim, ApiError> {
    let etag = user.etag();
    let scim = if projection.is_default() {
        let stored = StoredUser::of(&user).map_err(|error| {
            ApiError(scimd_core::Error::Internal(format!(
                "user {} does not serialise: {error}",
                user.id()
            )))
        })?;
        Scim::with_json_text(status, read_text(&stored, base, projection)?)
    } else {
        let resource = projection.apply(user.into_scim(&base.0), &USER);
        Scim::with_body(status, Value::Object(resource))
    };
    Ok(scim.with_etag(etag))
}

fn projection(query: &ScimQuery) -> Projection {
    Projection::from_query(
        query.get("attributes"),
        query.get("excludedAttributes"),
        &USER,
    )
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn create(
    State(state): State<AppState>,
    Caller(caller, origin): Caller,
    base: BaseUrl,
    query: ScimQuery,
    ScimJson(body): ScimJson,
) -> Result<Scim, ApiError> {
    let user = Box::pin(
        state
            .provisioner
            .create_user(&origin, caller.tenant_id, &body),
    )
    .await?;
    let location = user.location(&base.0);
    let created = rendered_with_etag(StatusCode::CREATED, user, &base, &projection(&query))?;
    Ok(created.with_location(location))
}

async fn read(
    State(state): State<AppState>,
    Caller(caller, _): Caller,
    base: BaseUrl,
    query: ScimQuery,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Scim, ApiError> {
    let user = Box::pin(state.provisioner.get_user(caller.tenant_id, &id)).await?;
    let etag = user.etag();
    let unchanged = header(&headers, header::IF_NONE_MATCH)
        .is_some_and(|tags| scimd_core::etag::header_lists(tags, &etag));
    if unchanged {
        return Ok(Scim::status(StatusCode::NOT_MODIFIED).with_etag(etag));
    }
    let body = read_text(&user, &base, &projection(&query))?;
    Ok(Scim::with_json_text(StatusCode::OK, body).with_etag(etag))
}

async fn replace(
    State(state): State<AppState>,
    Caller(caller, origin): Caller,
    base: BaseUrl,
    query: ScimQuery,
    headers: HeaderMap,
    Path(id): Path<String>,
    ScimJson(body): ScimJson,
) -> Result<Scim, ApiError> {
    let if_match = header(&headers, header::IF_MATCH);
    let user =
        Box::pin(
            state
                .provisioner
                .replace_user(&origin, caller.tenant_id, &id, &body, if_match),
        )
        .await?;
    rendered_with_etag(StatusCode::OK, user, &base, &projection(&query))
}

/// PATCHes with more operations than IdPs send (they send one to five): applying a thousand
/// operations with value filters is up to tens of milliseconds of CPU, which on an async
/// worker would hold up every request queued behind it.
const HEAVY_PATCH_OPERATIONS: usize = 16;

async fn patch(
    State(state): State<AppState>,
    Caller(caller, origin): Caller,
    base: BaseUrl,
    query: ScimQuery,
    headers: HeaderMap,
    Path(id): Path<String>,
    ScimJson(body): ScimJson,
) -> Result<Scim, ApiError> {
    let if_match = header(&headers, header::IF_MATCH).map(str::to_owned);
    let user = if operation_count(&body) > HEAVY_PATCH_OPERATIONS {
        patch_off_the_workers(&state, origin, caller.tenant_id, id, body, if_match).await?
    } else {
        Box::pin(state.provisioner.patch_user(
            &origin,
            caller.tenant_id,
            &id,
            &body,
            if_match.as_deref(),
        ))
        .await?
    };
    rendered_with_etag(StatusCode::OK, user, &base, &projection(&query))
}

fn operation_count(body: &Value) -> usize {
    body.as_object()
        .and_then(|members| {
            members
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("Operations"))
        })
        .and_then(|(_, operations)| operations.as_array())
        .map_or(0, Vec::len)
}

/// A heavy PATCH off the async workers, a few at a time (half the cores).
async fn patch_off_the_workers(
    state: &AppState,
    origin: Origin,
    tenant: TenantId,
    id: String,
    body: Value,
    if_match: Option<String>,
) -> Result<User, ApiError> {
    let turn = state.limiters.heavy_work_turn().await;
    let provisioner = std::sync::Arc::clone(&state.provisioner);
    let runtime = tokio::runtime::Handle::current();
    let patched = off_the_workers(turn, move || {
        runtime.block_on(provisioner.patch_user(&origin, tenant, &id, &body, if_match.as_deref()))
    })
    .await??;
    Ok(patched)
}

async fn delete(
    State(state): State<AppState>,
    Caller(caller, origin): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Scim, ApiError> {
    let if_match = header(&headers, header::IF_MATCH);
    Box::pin(
        state
            .provisioner
            .delete_user(&origin, caller.tenant_id, &id, if_match),
    )
    .await?;
    Ok(Scim::status(StatusCode::NO_CONTENT))
}

async fn list(
    State(state): State<AppState>,
    Caller(caller, _): Caller,
    base: BaseUrl,
    query: ScimQuery,
) -> Result<Scim, ApiError> {
    let request = SearchRequest::from_query(|name| query.get(name));
    respond_with_page(&state, caller, &base, &request).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query parameters in a SearchRequest body.
async fn search(
    State(state): State<AppState>,
    Caller(caller, _): Caller,
    base: BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Scim, ApiError> {
    let request = SearchRequest::from_body(&body)?;
    respond_with_page(&state, caller, &base, &request).await
}

async fn respond_with_page(
    state: &AppState,
    caller: scimd_core::Principal,
    base: &BaseUrl,
    request: &SearchRequest,
) -> Result<Scim, ApiError> {
    let query = request.query(&USER, state.settings.capabilities.page_limits)?;
    let projection = request.projection(&USER);
    let page = Box::pin(state.provisioner.list_users(caller.tenant_id, &query)).await?;
    let resources = page
        .users
        .iter()
        .map(|user| {
            let text = String::from_utf8(read_text(user, base, &projection)?)
                .map_err(|error| ApiError(scimd_core::Error::Internal(error.to_string())))?;
            RawValue::from_string(text)
                .map_err(|error| ApiError(scimd_core::Error::Internal(error.to_string())))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Scim::ok(list_response(resources, page)))
}
