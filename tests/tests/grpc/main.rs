//! Black-box tests of the gRPC host: a real server (REST, Socket.IO and gRPC on `127.0.0.1:0`), driven by
//! the tonic client generated from the same `chat.proto`.

mod bad_input;
mod events;
mod flow;
mod groups;
mod isolation;
mod messages;
mod support;
