//! Attachments: `POST /attachments` (multipart, field `file`) streams the upload to the application's
//! attachment service, which detects the type from the content and enforces the size limits;
//! `GET /attachments/{id}` streams the bytes back to the uploader or a member of a conversation that holds
//! the file. A chat module built without a blob store answers `501 chat.not_implemented`.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chat_application::UPLOAD_FIELD;
use chat_application::blob::{ByteStream, Bytes};
use chat_application::dto::{UploadAttachmentInput, UploadedAttachmentDto};
use chat_domain::AttachmentId;
use tokio::sync::{mpsc, oneshot};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ErrorResponses, IdPath};
use crate::http::caller::Caller;
use crate::http::extract::Path;
use crate::http::problem::{ApiError, Problem};
use crate::state::ChatState;

/// The largest multipart request accepted: the largest attachment (a 100 MB video) plus room for the
/// multipart framing. The application enforces each type's own limit while the bytes stream in.
pub const MAX_UPLOAD_REQUEST_BYTES: usize = 100_000_000 + 64 * 1024;

pub(super) fn routes() -> OpenApiRouter<ChatState> {
    OpenApiRouter::new()
        .routes(routes!(upload_attachment))
        // Only this route takes large bodies; every other keeps the 64 KiB limit.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_REQUEST_BYTES))
        .routes(routes!(get_attachment))
}

/// The multipart form of an upload.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    /// The file. Its type is detected from the content: images (JPEG, PNG, GIF, WebP) up to 10 MB, videos
    /// (MP4, WebM, MOV) up to 100 MB, files (PDF, DOC, DOCX, XLS, XLSX, ZIP) up to 50 MB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn not_available() -> Response {
    Problem::not_implemented("attachments are not available on this server").into_response()
}

/// Upload a file (multipart, field `file`); send its `id` in a message's `attachmentIds`.
#[utoipa::path(post, path = "/attachments", tag = "attachments",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "The stored file", body = UploadedAttachmentDto), ErrorResponses,
        (status = 501, description = "No blob store configured", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn upload_attachment(State(state): State<ChatState>, Caller(caller): Caller, request: Request) -> Response {
    if !state.attachments().is_enabled() {
        return not_available();
    }
    let multipart = match Multipart::from_request(request, &()).await {
        Ok(m) => m,
        Err(rejection) => {
            let status = rejection.status();
            let code = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE || status == StatusCode::BAD_REQUEST {
                "chat.bad_request"
            } else {
                "chat.internal"
            };
            return Problem::new(status, code, "expected a multipart/form-data body with a `file` field")
                .into_response();
        }
    };
    let (meta_tx, meta_rx) = oneshot::channel();
    let (chunk_tx, chunk_rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    // The multipart field borrows the request body, so a task owns both and forwards the file's chunks.
    tokio::spawn(forward_file(multipart, meta_tx, chunk_tx));
    let (file_name, declared_content_type) = match meta_rx.await {
        Ok(Ok(meta)) => meta,
        Ok(Err(problem)) => return problem.into_response(),
        Err(_) => return Problem::internal().into_response(),
    };
    let body: ByteStream =
        Box::pin(futures_util::stream::unfold(
            chunk_rx,
            |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
        ));
    let input = UploadAttachmentInput { file_name, declared_content_type, body };
    match state.attachments().upload(&caller, input).await {
        Ok(dto) => (StatusCode::CREATED, axum::Json(dto)).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

type FileMeta = (String, Option<String>);

/// Finds the `file` field, reports its name and declared type, then forwards its chunks until the end,
/// an error, or the receiver going away (the upload was refused).
async fn forward_file(
    mut multipart: Multipart,
    meta: oneshot::Sender<Result<FileMeta, Problem>>,
    chunks: mpsc::Sender<std::io::Result<Bytes>>,
) {
    let mut field = loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some(UPLOAD_FIELD) => break field,
            Ok(Some(_other)) => continue,
            Ok(None) => {
                let _ = meta.send(Err(Problem::invalid_field(UPLOAD_FIELD, "the form has no `file` field")));
                return;
            }
            Err(e) => {
                let _ = meta.send(Err(multipart_problem(e.status(), &e.body_text())));
                return;
            }
        }
    };
    let file_name = field.file_name().map(str::to_owned).unwrap_or_else(|| "file".to_owned());
    let content_type = field.content_type().map(str::to_owned);
    if meta.send(Ok((file_name, content_type))).is_err() {
        return;
    }
    loop {
        let item = match field.chunk().await {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => return,
            Err(e) => Err(std::io::Error::other(e.body_text())),
        };
        let failed = item.is_err();
        if chunks.send(item).await.is_err() || failed {
            return;
        }
    }
}

fn multipart_problem(status: StatusCode, detail: &str) -> Problem {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(status, "chat.payload_too_large", "the upload is larger than allowed")
    } else {
        Problem::new(StatusCode::BAD_REQUEST, "chat.bad_request", format!("malformed multipart body: {detail}"))
    }
}

/// Fetch a file (its uploader, or members of a conversation whose message carries it).
#[utoipa::path(get, path = "/attachments/{id}", tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses((status = 200, description = "The bytes, with the detected `Content-Type`", content_type = "*/*"), ErrorResponses,
        (status = 501, description = "No blob store configured", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_attachment(State(state): State<ChatState>, Caller(caller): Caller, Path(path): Path<IdPath>) -> Response {
    if !state.attachments().is_enabled() {
        return not_available();
    }
    let download = match state.attachments().download(&caller, AttachmentId::from_uuid(path.id)).await {
        Ok(d) => d,
        Err(e) => return ApiError(e).into_response(),
    };
    let meta = &download.attachment;
    let inline = meta.mime_type.starts_with("image/") || meta.mime_type.starts_with("video/");
    let disposition = content_disposition(if inline { "inline" } else { "attachment" }, &meta.file_name);
    let mut response = Body::from_stream(download.body).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&meta.mime_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size.max(0)));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Never let a browser run anything from an attachment, even if a type check were fooled.
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    response
}

/// `inline; filename="…"; filename*=UTF-8''…`: an ASCII fallback and the exact name, percent-encoded.
fn content_disposition(kind: &str, file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn file_names_are_quoted_safely() {
        let header = content_disposition("attachment", "a \"b\"\\é.pdf");
        assert_eq!(header, "attachment; filename=\"a _b___.pdf\"; filename*=UTF-8''a%20%22b%22%5C%C3%A9.pdf");
    }
}
