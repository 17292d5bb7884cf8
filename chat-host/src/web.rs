//! The small web chat page, served from assets embedded in the binary.
//!
//! The page is plain HTML, CSS and ES modules under `chat-host/web/`: no build step, no CDN, so the
//! reference server works offline and a release binary carries its own page. It speaks the same
//! public REST API and Socket.IO events as any other client (its Socket.IO client is a small one of
//! its own over WebSocket, see `web/js/socket.js`).
//!
//! The assets are embedded with `include_bytes!`, so editing a file under `web/` needs a rebuild.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file: the URL path it is served at, its media type and its bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const INDEX: Asset =
    Asset { path: "/index.html", content_type: "text/html; charset=utf-8", body: include_bytes!("../web/index.html") };

/// A script module under `web/js/`.
macro_rules! script {
    ($name:literal) => {
        Asset {
            path: concat!("/js/", $name, ".js"),
            content_type: "text/javascript; charset=utf-8",
            body: include_bytes!(concat!("../web/js/", $name, ".js")),
        }
    };
}

const ASSETS: &[Asset] = &[
    INDEX,
    Asset { path: "/app.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../web/app.css") },
    Asset { path: "/favicon.svg", content_type: "image/svg+xml", body: include_bytes!("../web/favicon.svg") },
    script!("app"),
    script!("state"),
    script!("realtime"),
    script!("sidebar"),
    script!("conversation"),
    script!("composer"),
    script!("dialogs"),
    script!("api"),
    script!("dom"),
    script!("socket"),
];

/// The page's content security policy: only its own scripts and styles, images from itself or from
/// `blob:` URLs (attachments are fetched with the bearer token, then shown from a blob), and
/// connections back to the same server. Defence in depth: the page never renders user data as HTML.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Routes serving the web chat page: `/` (the page itself) and its assets.
///
/// The paths do not overlap `/api`, `/socket.io` or `/health`, so the router merges into the host's
/// application router as it is.
pub fn web_router() -> Router {
    let mut router = Router::new().route("/", get(|| async { serve(&INDEX) }));
    for asset in ASSETS {
        router = router.route(asset.path, get(move || async move { serve(asset) }));
    }
    router
}

fn serve(asset: &'static Asset) -> Response {
    let mut response = (StatusCode::OK, asset.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    // Revalidate every time: the files are small, and a rebuilt server must not run a stale page.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if asset.content_type.starts_with("text/html") {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt;

    use super::{ASSETS, web_router};

    async fn get(path: &str) -> (StatusCode, String, String) {
        let response = web_router().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, content_type, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_root_serves_the_page_as_html() {
        let (status, content_type, body) = get("/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "text/html; charset=utf-8");
        assert!(body.contains("<script type=\"module\" src=\"/js/app.js\"></script>"));
    }

    #[tokio::test]
    async fn scripts_styles_and_icons_have_their_media_types() {
        assert_eq!(get("/js/app.js").await.1, "text/javascript; charset=utf-8");
        assert_eq!(get("/js/socket.js").await.1, "text/javascript; charset=utf-8");
        assert_eq!(get("/app.css").await.1, "text/css; charset=utf-8");
        assert_eq!(get("/favicon.svg").await.1, "image/svg+xml");
    }

    #[tokio::test]
    async fn the_page_never_assigns_inner_html() {
        for path in ASSETS.iter().map(|a| a.path).filter(|p| p.ends_with(".js")) {
            let (_, _, body) = get(path).await;
            assert!(!body.contains("innerHTML"), "{path} assigns innerHTML");
            assert!(!body.contains("insertAdjacentHTML"), "{path} inserts HTML");
        }
    }

    #[test]
    fn every_file_of_the_page_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap().chain(std::fs::read_dir(dir.join("js")).unwrap()) {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(format!("/{}", path.strip_prefix(&dir).unwrap().to_string_lossy()));
            }
        }
        for file in files {
            assert!(ASSETS.iter().any(|a| a.path == file), "{file} is not embedded in web.rs");
        }
    }

    #[tokio::test]
    async fn unknown_paths_are_not_found() {
        assert_eq!(get("/nope.js").await.0, StatusCode::NOT_FOUND);
    }
}
