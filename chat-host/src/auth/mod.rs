//! Authentication: JWT verification, the identity a token carries, development mode.
//!
//! Tokens are checked with an explicit algorithm allowlist (HS256 for a secret; RS256 or ES256 for a public
//! key), `exp` is required and checked (and `nbf` when present; `iss` and `aud` when configured), and
//! `alg: none` is refused (it is not in any allowlist). Tokens are never logged. A socket is closed when the
//! token it connected with expires (see `socket::expiry`).

mod authenticator;
mod claims;
mod dev;
mod jwt;

pub use authenticator::{AuthenticatedSession, Authenticator, Credentials, JwtAuthenticator};
pub use claims::{Audience, Claims, Identity, RoleClaim};
pub use dev::{DEV_USER_NAMESPACE, load_or_create_dev_secret, user_id_for};
pub use jwt::{AuthError, AuthMode, JwtAuth, TokenRequest};
