//! The discovery documents of RFC 7644 §4: `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas`. Groups are not managed, so they are not advertised.

use crate::list::{ListResponse, PageLimits};
use crate::schema::ResourceType;
use serde_json::{Value, json};

pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// What the server advertises about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Largest request body accepted, in bytes.
    pub max_payload_size: u64,
    pub page_limits: PageLimits,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            max_payload_size: 1024 * 1024,
            page_limits: PageLimits::default(),
        }
    }
}

/// RFC 7643 §5, with the RFC 9865 `pagination` block.
pub fn service_provider_config(base_url: &str, capabilities: Capabilities) -> Value {
    let limits = capabilities.page_limits;
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://www.rfc-editor.org/info/rfc7644",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": capabilities.max_payload_size },
        "filter": { "supported": true, "maxResults": limits.max_page_size },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": limits.default_page_size,
            "maxPageSize": limits.max_page_size,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token created with `scimd token create`, sent as `Authorization: Bearer <token>`.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig"),
        },
    })
}

/// `GET /ResourceTypes`.
pub fn resource_types(base_url: &str, resource_types: &[&ResourceType]) -> ListResponse {
    listing(
        resource_types
            .iter()
            .map(|rt| rt.to_json(base_url))
            .collect(),
    )
}

/// `GET /ResourceTypes/{name}`; names compare case-insensitively.
pub fn resource_type(
    base_url: &str,
    resource_types: &[&ResourceType],
    name: &str,
) -> Option<Value> {
    resource_types
        .iter()
        .find(|rt| rt.name.eq_ignore_ascii_case(name))
        .map(|rt| rt.to_json(base_url))
}

/// `GET /Schemas`: every schema the resource types use.
pub fn schemas(base_url: &str, resource_types: &[&ResourceType]) -> ListResponse {
    listing(
        resource_types
            .iter()
            .flat_map(|rt| std::iter::once(rt.core).chain(rt.extensions.iter().copied()))
            .map(|schema| schema.to_json(base_url))
            .collect(),
    )
}

/// `GET /Schemas/{urn}`; URNs compare case-insensitively.
pub fn schema(base_url: &str, resource_types: &[&ResourceType], id: &str) -> Option<Value> {
    resource_types
        .iter()
        .flat_map(|rt| std::iter::once(rt.core).chain(rt.extensions.iter().copied()))
        .find(|schema| schema.id.eq_ignore_ascii_case(id))
        .map(|schema| schema.to_json(base_url))
}

fn listing(resources: Vec<Value>) -> ListResponse {
    let total = resources.len() as u64;
    ListResponse {
        total_results: total,
        resources,
        start_index: Some(1),
        ..ListResponse::default()
    }
}
