//! The host names scimd answers for. A web page can point a name it controls at 127.0.0.1
//! (DNS rebinding) and so reach a server on the operator's own machine from the operator's
//! browser, as its own origin; the `Host` header then carries that name. Requests for a name
//! that is not scimd's are refused with 421 before anything else runs.
//!
//! Always allowed: `localhost` and IP addresses (a page can only send an address as `Host`
//! when it was itself loaded from that address, so there is no rebinding there), and a request
//! with no `Host` at all (HTTP/1.0; no browser sends one). Allowed besides: the host of
//! `--public-url` and every `--allowed-host`; `*` allows any name.

use super::AppState;
use super::response::ApiError;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    /// Lower-case names, without port or trailing dot.
    names: Vec<String>,
    any: bool,
}

impl AllowedHosts {
    /// These names (a `HOST` or `HOST:PORT` each; `*` for any), and the host of `public_url`.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>, public_url: Option<&'a str>) -> Self {
        let mut allowed = Self::default();
        let public_host = public_url.map(|url| {
            let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
            rest.split(['/', '?', '#']).next().unwrap_or_default()
        });
        for name in names.into_iter().chain(public_host) {
            match name.trim() {
                "*" => allowed.any = true,
                "" => {}
                name => {
                    let name = hostname(name).to_owned();
                    if !allowed.names.contains(&name) {
                        allowed.names.push(name);
                    }
                }
            }
        }
        allowed
    }

    /// Whether a request with this `Host` (or `:authority`) is answered.
    /// Runs on every request, so it compares in place rather than lower-case a copy.
    pub fn allows(&self, host: &str) -> bool {
        let name = host_part(host);
        self.any
            || name.eq_ignore_ascii_case("localhost")
            || name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok()
            || self
                .names
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(name))
    }

    /// The names allowed besides the ones always allowed, for the start-up log.
    pub fn describe(&self) -> String {
        if self.any {
            return "any host".into();
        }
        let mut names = vec!["localhost", "IP addresses"];
        names.extend(self.names.iter().map(String::as_str));
        names.join(", ")
    }
}

/// The host part of a `Host` value, lower-case, without port or trailing dot.
fn hostname(host: &str) -> String {
    host_part(host).to_ascii_lowercase()
}

/// The host part of a `Host` value as sent: without port or trailing dot.
fn host_part(host: &str) -> &str {
    let host = host.trim();
    let name = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(host)
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.trim_end_matches('.')
}

/// Refuses a request for a host scimd does not answer for: 421 Misdirected Request.
pub(crate) async fn only_allowed_hosts(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|value| value.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        });
    match host {
        Some(host) if !state.settings.allowed_hosts.allows(host) => ApiError::status(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "this server does not answer for the host {:?}; if that is its name, start it \
                 with --allowed-host {} (or --public-url)",
                hostname(host),
                hostname(host)
            ),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_addresses_and_the_named_hosts_are_allowed_and_nothing_else() {
        let allowed = AllowedHosts::new(
            ["scim.example.com", "Other.Example.com:8443"],
            Some("https://public.example.com:443/base"),
        );
        for host in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "[::1]",
            "10.1.2.3",
            "scim.example.com",
            "SCIM.example.com.:8080",
            "other.example.com",
            "public.example.com",
        ] {
            assert!(allowed.allows(host), "{host}");
        }
        for host in [
            "attacker.example",
            "scim.example.com.attacker.example",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "",
        ] {
            assert!(!allowed.allows(host), "{host}");
        }
        assert!(AllowedHosts::new(["*"], None).allows("anything.example"));
    }
}
