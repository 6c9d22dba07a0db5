//! Where webhooks may go: `http` or `https` URLs with a host and no credentials, whose every
//! address is public. Loopback, private (RFC 1918, unique local), link-local (cloud metadata at
//! 169.254.169.254 included), shared (CGNAT), unspecified, multicast, broadcast and documentation
//! addresses are refused unless the operator allows private destinations (for a receiver on
//! the same network, and for tests). Checked when an endpoint is made and again at every
//! connection (the resolver below), so a name that later resolves elsewhere (DNS rebinding)
//! still reaches no private address.

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use scimd_core::webhook::DestinationPolicy;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long resolving a webhook's host may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest URL an endpoint may have.
const MAX_URL_BYTES: usize = 2048;

/// Whether deliveries may go to this address.
pub(crate) fn public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    let benchmarking = a == 198 && (b == 18 || b == 19);
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || shared
        || benchmarking
        || a == 0
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    let nat64 = first == 0x0064 && ip.segments()[1] == 0xff9b;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || documentation
        || nat64)
}

/// The URL, if its form is one a webhook may have; the reason in words when not.
pub(crate) fn parse_url(text: &str) -> Result<Url, String> {
    if text.len() > MAX_URL_BYTES {
        return Err(format!("longer than {MAX_URL_BYTES} bytes"));
    }
    let url = Url::parse(text.trim()).map_err(|error| format!("not a URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it names no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials do not belong in the URL (the signature authenticates)".into());
    }
    if url.fragment().is_some() {
        return Err("a fragment (#...) is never sent; leave it out".into());
    }
    Ok(url)
}

/// Whether deliveries may go to `url`: its form, then every address its host resolves to.
pub(crate) async fn vet(text: &str, allow_private: bool) -> Result<(), String> {
    let url = parse_url(text)?;
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses = resolve(host, port).await?;
    match addresses
        .iter()
        .find(|address| !public_address(address.ip()))
    {
        Some(address) if !allow_private => {
            let named = match host.parse::<IpAddr>() {
                Ok(_) => format!("{host} is"),
                Err(_) => format!("{host} resolves to {},", address.ip()),
            };
            Err(format!(
                "{named} a loopback, private, link-local or otherwise internal address; \
                 webhooks and JWKS fetches go to public addresses only (set \
                 SCIMD_WEBHOOK_ALLOW_PRIVATE=true to allow an internal network)"
            ))
        }
        _ => Ok(()),
    }
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let lookup = tokio::net::lookup_host((host, port));
    let addresses: Vec<SocketAddr> = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
        .await
        .map_err(|_| format!("resolving {host} took longer than {RESOLVE_TIMEOUT:?}"))?
        .map_err(|error| format!("{host} does not resolve ({error})"))?
        .collect();
    if addresses.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    Ok(addresses)
}

/// An HTTP client whose connections go only where `allow_private` lets them (see
/// [`GuardedResolver`]): TLS through rustls with ring and the webpki roots, no redirects, no
/// proxy, `timeout` for connecting and for the whole exchange. Used for webhooks and for the
/// JWKS documents of trusted assertion issuers.
pub(crate) fn guarded_client(
    allow_private: bool,
    timeout: std::time::Duration,
) -> anyhow::Result<reqwest::ClientBuilder> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout))
}

/// An address written in the URL itself is not resolved, so the resolver cannot refuse it:
/// it is checked here, before every request.
pub(crate) fn literal_address_allowed(url: &Url, allow_private: bool) -> Result<(), String> {
    match url
        .host_str()
        .and_then(|host| host.trim_matches(['[', ']']).parse::<IpAddr>().ok())
    {
        Some(ip) if !allow_private && !public_address(ip) => Err(format!(
            "{ip} is an internal address; requests go to public ones"
        )),
        _ => Ok(()),
    }
}

/// Webhooks may go to public addresses only, or also to internal ones when the operator says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UrlGuard {
    pub allow_private: bool,
}

impl DestinationPolicy for UrlGuard {
    async fn vet(&self, url: &str) -> Result<(), String> {
        vet(url, self.allow_private).await
    }
}

/// The HTTP client's resolver: a name resolves to its public addresses only (all of them,
/// unless private destinations are allowed), so no connection reaches an internal address
/// through a name, whatever the name resolved to when the endpoint was made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all = resolve(&host, 0)
                .await
                .map_err(Box::<dyn std::error::Error + Send + Sync>::from)?;
            let allowed: Vec<SocketAddr> = all
                .into_iter()
                .filter(|address| allow_private || public_address(address.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to internal addresses only").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
        ] {
            assert!(!public_address(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "8.8.8.8"] {
            assert!(public_address(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn only_plain_http_urls_with_a_host_are_taken() {
        assert!(parse_url("https://hooks.example.com/scimd?x=1").is_ok());
        for (url, says) in [
            ("ftp://example.com/", "scheme"),
            ("not a url", "not a URL"),
            ("https://user:pw@example.com/", "credentials"),
            ("https://example.com/#frag", "fragment"),
            ("file:///etc/passwd", "scheme"),
        ] {
            let error = parse_url(url).unwrap_err();
            assert!(error.contains(says), "{url}: {error}");
        }
        assert!(parse_url(&format!("https://e.com/{}", "a".repeat(3000))).is_err());
    }

    #[tokio::test]
    async fn loopback_and_metadata_urls_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://10.0.0.5/",
        ] {
            let error = vet(url, false).await.unwrap_err();
            assert!(error.contains("public addresses only"), "{url}: {error}");
            assert!(vet(url, true).await.is_ok(), "{url} with private allowed");
        }
    }
}
