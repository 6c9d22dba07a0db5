//! `/Users`: create, list, search, read, replace, patch, delete (RFC 7644 §3.3–§3.6).
//!
//! Each handler boxes its provisioner call: the store's futures are kilobytes, and axum moves a
//! handler's future by value through its layers, a copy each time (it showed in profiles).

use super::AppState;
use super::extract::{BaseUrl, Caller, ScimJson, ScimQuery};
use super::limits::off_the_workers;
use super::response::{ApiError, Scim};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use scim::list::ListResponse;
use scim::projection::Projection;
use scim::schema::USER;
use scimd_core::activity::Origin;
use scimd_core::provisioner::ListRequest;
use scimd_core::store::UserPage;
use scimd_core::tenant::TenantId;
use scimd_core::user::{StoredUser, User};
use serde_json::Value;

pub(crate) fn router() -> Router<AppState> {
    let by_id = get(read).put(replace).patch(patch).delete(delete);
    Router::new()
        .route(
            "/Users",
            get(list).post(create).fallback(method_not_allowed),
        )
        .route("/Users/.search", post(search).fallback(method_not_allowed))
        // RFC 7644 §3.4.3: a search at the root spans every resource type; User is the only one.
        .route("/.search", post(search).fallback(method_not_allowed))
        .route("/Users/{id}", by_id.fallback(method_not_allowed))
}

async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed here"),
    )
}

/// The resource as the client asked to see it.
fn rendered(user: User, base: &BaseUrl, projection: &Projection) -> Value {
    Value::Object(projection.apply(user.into_scim(&base.0), &USER))
}

/// A stored user with the default projection, spliced from its stored text (see
/// [`StoredUser`]), as a response body (`render`) or a list member (`render_raw`). A stored
/// document that is not a JSON object is a server fault.
fn stored_rendering<T>(
    user: &StoredUser,
    base: &BaseUrl,
    render: fn(&StoredUser, &str) -> serde_json::Result<T>,
) -> Result<T, ApiError> {
    render(user, &base.0).map_err(|error| {
        ApiError(scimd_core::Error::Internal(format!(
            "the stored document of user {} is not a JSON object: {error}",
            user.scim_id
        )))
    })
}

fn list_response<R, U>(resources: Vec<R>, page: UserPage<U>) -> ListResponse<R> {
    ListResponse {
        total_results: page.total,
        resources,
        start_index: page.start_index,
        next_cursor: page.next_cursor,
        previous_cursor: None,
    }
}

/// The resource and its ETag, for a read, replace or patch (`200 OK`) or a create. With the
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
        Scim::with_json_text(status, stored_rendering(&stored, base, StoredUser::render)?)
    } else {
        Scim::with_body(status, rendered(user, base, projection))
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
    let projection = projection(&query);
    let unchanged = |etag: &str| {
        header(&headers, header::IF_NONE_MATCH)
            .is_some_and(|tags| scimd_core::etag::header_lists(tags, etag))
    };
    if projection.is_default() {
        let user = Box::pin(state.provisioner.get_stored_user(caller.tenant_id, &id)).await?;
        let etag = user.etag();
        if unchanged(&etag) {
            return Ok(Scim::status(StatusCode::NOT_MODIFIED).with_etag(etag));
        }
        let body = stored_rendering(&user, &base, StoredUser::render)?;
        return Ok(Scim::with_json_text(StatusCode::OK, body).with_etag(etag));
    }
    let user = Box::pin(state.provisioner.get_user(caller.tenant_id, &id)).await?;
    if unchanged(&user.etag()) {
        return Ok(Scim::status(StatusCode::NOT_MODIFIED).with_etag(user.etag()));
    }
    rendered_with_etag(StatusCode::OK, user, &base, &projection)
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
    let request = ListRequest {
        filter: query.get("filter"),
        sort_by: query.get("sortBy"),
        sort_order: query.get("sortOrder"),
        start_index: query.get("startIndex"),
        count: query.get("count"),
        cursor: query.get("cursor"),
    };
    respond_with_page(&state, caller, &base, &request, &projection(&query)).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query parameters in a SearchRequest body.
async fn search(
    State(state): State<AppState>,
    Caller(caller, _): Caller,
    base: BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Scim, ApiError> {
    let Value::Object(body) = body else {
        return Err(scim::Error::invalid_syntax("a SearchRequest must be a JSON object").into());
    };
    let member = |name: &str| {
        body.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match member(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(other) => Err(scim::Error::invalid_value(format!(
                "'{name}' must be a string or number, not {other}"
            ))
            .into()),
        }
    };
    let list = |name: &str| -> Result<Vec<String>, ApiError> {
        match member(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(text)) => Ok(text.split(',').map(str::to_owned).collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_owned).ok_or_else(|| {
                        scim::Error::invalid_value(format!("'{name}' must list attribute names"))
                            .into()
                    })
                })
                .collect(),
            Some(other) => Err(scim::Error::invalid_value(format!(
                "'{name}' must be an array of names, not {other}"
            ))
            .into()),
        }
    };
    let (filter, sort_by, sort_order) = (text("filter")?, text("sortBy")?, text("sortOrder")?);
    let (start_index, count, cursor) = (text("startIndex")?, text("count")?, text("cursor")?);
    let projection =
        Projection::from_lists(&list("attributes")?, &list("excludedAttributes")?, &USER);
    let request = ListRequest {
        filter: filter.as_deref(),
        sort_by: sort_by.as_deref(),
        sort_order: sort_order.as_deref(),
        start_index: start_index.as_deref(),
        count: count.as_deref(),
        cursor: cursor.as_deref(),
    };
    respond_with_page(&state, caller, &base, &request, &projection).await
}

async fn respond_with_page(
    state: &AppState,
    caller: scimd_core::Principal,
    base: &BaseUrl,
    request: &ListRequest<'_>,
    projection: &Projection,
) -> Result<Scim, ApiError> {
    let limits = state.settings.capabilities.page_limits;
    let provisioner = &state.provisioner;
    if projection.is_default() {
        let page =
            Box::pin(provisioner.list_stored_users(caller.tenant_id, request, limits)).await?;
        let resources = page
            .users
            .iter()
            .map(|user| stored_rendering(user, base, StoredUser::render_raw))
            .collect::<Result<_, _>>()?;
        return Ok(Scim::ok(list_response(resources, page)));
    }
    let mut page = Box::pin(provisioner.list_users(caller.tenant_id, request, limits)).await?;
    let resources = std::mem::take(&mut page.users)
        .into_iter()
        .map(|user| rendered(user, base, projection))
        .collect();
    Ok(Scim::ok(list_response(resources, page)))
}
