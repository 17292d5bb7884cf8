//! Browser origin checks (cross-site WebSocket hijacking) and CORS.

use axum::http::{HeaderMap, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::AllowedOrigins;

/// Whether a request's `Origin` is allowed: requests without one (non-browser clients) are; a browser's
/// must be listed or, by default, be the server's own origin (its host and port equal the `Host` header).
pub fn origin_allowed(headers: &HeaderMap, allowed: &AllowedOrigins) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    match allowed {
        AllowedOrigins::Any => true,
        AllowedOrigins::List(list) if list.contains(&origin) => true,
        AllowedOrigins::List(_) | AllowedOrigins::SameOrigin => same_origin(&origin, headers),
    }
}

/// Whether `origin` (`scheme://host[:port]`, lowercase) names the host the request was sent to.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    normalize(scheme, authority) == normalize(scheme, &host.trim().to_ascii_lowercase())
}

fn normalize(scheme: &str, authority: &str) -> String {
    let default_port = match scheme {
        "https" | "wss" => ":443",
        _ => ":80",
    };
    authority.strip_suffix(default_port).unwrap_or(authority).to_owned()
}

/// The CORS layer for the REST API: none for same-origin only (browsers then refuse cross-origin calls), the
/// listed origins, or any origin. Tokens travel in the `Authorization` header, never in cookies, so no
/// credentials mode is needed.
pub fn cors_layer(allowed: &AllowedOrigins) -> Option<CorsLayer> {
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::HeaderName::from_static("x-request-id")])
        .expose_headers([header::RETRY_AFTER, header::HeaderName::from_static("x-request-id")]);
    match allowed {
        AllowedOrigins::SameOrigin => None,
        AllowedOrigins::Any => Some(base.allow_origin(AllowOrigin::any())),
        AllowedOrigins::List(list) => {
            let values: Vec<HeaderValue> = list.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
            Some(base.allow_origin(AllowOrigin::list(values)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn clients_without_origin_are_allowed() {
        assert!(origin_allowed(&headers(None, "127.0.0.1:8080"), &AllowedOrigins::SameOrigin));
    }

    #[test]
    fn same_origin_is_allowed_and_others_are_not() {
        let same = AllowedOrigins::SameOrigin;
        assert!(origin_allowed(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"), &same));
        assert!(origin_allowed(&headers(Some("https://chat.example"), "chat.example:443"), &same));
        assert!(!origin_allowed(&headers(Some("http://evil.example"), "127.0.0.1:8080"), &same));
        assert!(!origin_allowed(&headers(Some("null"), "127.0.0.1:8080"), &same));
    }

    #[test]
    fn listed_origins_are_allowed() {
        let list = AllowedOrigins::parse("http://app.example:3000");
        assert!(origin_allowed(&headers(Some("http://app.example:3000"), "127.0.0.1:8080"), &list));
        assert!(!origin_allowed(&headers(Some("http://app.example:3001"), "127.0.0.1:8080"), &list));
    }
}
