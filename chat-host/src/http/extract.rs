//! Request extractors whose rejections are problem documents, in place of axum's plain-text ones.
//!
//! - [`Json`]: needs `Content-Type: application/json`; bodies over the limit are `413`; malformed JSON is
//!   `400 chat.bad_request`; well-formed JSON of the wrong shape is `400 chat.validation` naming the field.
//! - [`Path`]: a segment that does not parse (a bad UUID) is `400 chat.validation` naming the parameter.
//! - [`Query`]: a query string that does not parse is `400 chat.validation`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// A JSON request body, deserialized with field-accurate error messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "chat.unsupported_media_type",
                "expected a body with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(bytes_problem)?;
        parse_json(&bytes).map(Json)
    }
}

/// Deserializes a JSON object into an input, reporting the path of the first bad field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // serde_json checks UTF-8 only in the strings it keeps, so a bad byte in an ignored field would pass.
    if std::str::from_utf8(bytes).is_err() {
        return Err(Problem::bad_request("the body is not valid UTF-8"));
    }
    // Syntax first, so that malformed JSON is always `chat.bad_request`, whatever its first field says.
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(match e.classify() {
            serde_json::error::Category::Eof => Problem::bad_request("the JSON body ends too early"),
            _ => Problem::bad_request(format!("the body is not valid JSON: {}", strip_position(&e.to_string()))),
        });
    }
    // Every input is an object; serde would also read a struct from an array, by position (`[1, 2]`).
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(Problem::invalid_field("body", "expected a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // The syntax is known to be valid here, so every failure is about the shape (serde_json reports some
    // shape errors, such as an integer where an enum is expected, as syntax errors).
    let value = serde_path_to_error::deserialize(&mut de).map_err(shape_problem)?;
    de.end()
        .map_err(|e| Problem::bad_request(format!("the body is not valid JSON: {}", strip_position(&e.to_string()))))?;
    Ok(value)
}

/// Deserializes an already parsed JSON value (a socket payload) into an input, with the same rules and
/// problems as [`parse_json`]: an object is required, and a bad field is named by its path.
pub fn parse_json_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, Problem> {
    if !value.is_object() {
        return Err(Problem::invalid_field("body", "expected a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(shape_problem)
}

/// A value of the wrong shape: `chat.validation` naming the first bad field by its path.
fn shape_problem(e: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let path = e.path().to_string();
    let field = if path == "." || path.is_empty() { "body".to_owned() } else { path };
    Problem::invalid_field(field, strip_position(&e.inner().to_string()))
}

/// serde_json appends "at line L column C"; that is noise for a field error.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

fn bytes_problem(rejection: BytesRejection) -> Problem {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(status, "chat.payload_too_large", "the request body is larger than allowed (64 KiB)")
    } else {
        Problem::new(status, "chat.bad_request", "the request body could not be read")
    }
}

/// Path parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rejection) => Err(path_problem(rejection)),
        }
    }
}

fn path_problem(rejection: PathRejection) -> Problem {
    use axum::extract::path::ErrorKind;
    match rejection {
        PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
            ErrorKind::ParseErrorAtKey { key, value, expected_type } => {
                Problem::invalid_field(key.clone(), format!("`{value}` is not a valid {}", type_word(expected_type)))
            }
            ErrorKind::ParseError { value, expected_type }
            | ErrorKind::ParseErrorAtIndex { value, expected_type, .. } => {
                Problem::invalid_field("path", format!("`{value}` is not a valid {}", type_word(expected_type)))
            }
            ErrorKind::DeserializeError { key, value, message } => {
                Problem::invalid_field(key.clone(), format!("`{value}`: {message}"))
            }
            ErrorKind::InvalidUtf8InPathParam { key } => Problem::invalid_field(key.clone(), "not valid UTF-8"),
            _ => Problem::bad_request("the path parameters are invalid"),
        },
        PathRejection::MissingPathParams(_) => Problem::internal(),
        _ => Problem::bad_request("the path parameters are invalid"),
    }
}

fn type_word(expected_type: &str) -> &str {
    if expected_type.contains("Uuid") || expected_type.ends_with("Id") { "UUID" } else { expected_type }
}

/// Query-string parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let message = e.body_text();
                let message = message.strip_prefix("Failed to deserialize query string: ").unwrap_or(&message);
                let (field, msg) = match message.split_once(": ") {
                    Some((field, msg)) if !field.contains(' ') => (field.to_owned(), msg.to_owned()),
                    _ => ("query".to_owned(), message.to_owned()),
                };
                Err(Problem::invalid_field(field, msg))
            }
            Err(_) => Err(Problem::bad_request("the query string is invalid")),
        }
    }
}

/// A JSON body that may be absent (an empty body or `null` reads as `None`), for actions whose input is
/// optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(bytes_problem)?;
        // The OpenAPI document describes the body as `T` or `null`.
        if bytes.iter().all(u8::is_ascii_whitespace) || (json && bytes.trim_ascii() == b"null") {
            return Ok(OptionalJson(None));
        }
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "chat.unsupported_media_type",
                "expected a body with `Content-Type: application/json`",
            ));
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_json;

    #[derive(Debug, serde::Deserialize)]
    struct Input {
        #[allow(dead_code)]
        name: Option<String>,
    }

    #[test]
    fn invalid_utf8_in_an_ignored_field_is_a_bad_request() {
        let problem = parse_json::<Input>(b"{\"other\":\"\xc3\x28\"}").unwrap_err();
        assert_eq!(problem.code, "chat.bad_request");
        assert_eq!(problem.status, 400);
    }

    #[test]
    fn an_array_is_not_read_as_an_input_by_position() {
        let problem = parse_json::<Input>(br#"["x"]"#).unwrap_err();
        assert_eq!(problem.code, "chat.validation");
        assert_eq!(problem.errors[0].field, "body");
    }

    #[test]
    fn a_body_of_the_wrong_shape_names_the_field() {
        let problem = parse_json::<Input>(br#"{"name": 5}"#).unwrap_err();
        assert_eq!(problem.code, "chat.validation");
        assert_eq!(problem.errors[0].field, "name");
    }
}
