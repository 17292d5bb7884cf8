//! Black-box tests of the REST API: a real server on 127.0.0.1:0, driven over HTTP.

mod attachments;
mod auth;
mod bad_input;
mod embedding;
mod flow;
mod groups;
mod isolation;
mod lifecycle;
mod operations;
mod rich;
mod routes;
mod security;
