//! # scim: the SCIM 2.0 wire protocol, without I/O
//!
//! Everything scimd knows about RFC 7643, RFC 7644 and RFC 9865 that does not need a database or
//! a socket. The `core`, `store` and `scimd` crates build on it.
//!
//! # Layout
//! - [`error`]: RFC 7644 §3.12 errors (`status`, `scimType`, `detail`).
//! - [`schema`]: attribute characteristics, the User schemas, case-insensitive resolution.
//! - [`discovery`]: `/Schemas`, `/ResourceTypes`, `/ServiceProviderConfig` documents.
//! - [`filter`]: filter parser, canonical printer, resolution against the schema into the
//!   executed form (`ResolvedFilter`), in-memory evaluator.
//! - [`path`]: attribute paths and PATCH paths (sharing the filter grammar).
//! - [`patch`]: PATCH operations applied in order, all or nothing.
//! - [`normalise`]: POST/PUT bodies checked and brought to canonical form, IdP quirks absorbed.
//! - [`projection`]: `attributes` / `excludedAttributes` with `returned` semantics.
//! - [`render`]: a User's `meta`, ETag and location, and a stored document spliced into a
//!   response.
//! - [`list`]: ListResponse, index paging and RFC 9865 cursor paging types.
//! - [`fold`]: the case-folded search copy databases compare against.
//! - [`datetime`]: xsd:dateTime parsing and formatting.
//! - [`text`]: the characters a stored value must not hold.

pub mod datetime;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod fold;
pub mod list;
pub mod normalise;
pub mod patch;
pub mod path;
pub mod projection;
pub mod render;
pub mod schema;
pub mod text;

pub use error::{Error, Result, ScimType};
pub use filter::Filter;
pub use path::{AttrPath, PatchPath};
