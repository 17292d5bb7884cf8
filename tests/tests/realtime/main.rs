//! Black-box tests of the Socket.IO side: a real server on 127.0.0.1:0 and a real Socket.IO client.

mod bad_events;
mod bad_input;
mod catch_up;
mod cluster;
mod connect;
mod flow;
mod isolation;
mod presence;
mod rich;
mod security;
