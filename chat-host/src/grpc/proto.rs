//! The code generated from `proto/chat.proto` (package `chat`): messages, servers and clients.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("chat");
