//! Authentication: JWT verification, the identity a token carries, development mode.
//!
//! Tokens are checked with an explicit algorithm allowlist (HS256 for a secret; RS256 or ES256 for a public
//! key), `exp` is required and checked, and `alg: none` is refused (it is not in any allowlist). Tokens are
//! never logged.

mod authenticator;
mod claims;
mod dev;
mod jwt;

pub use authenticator::{Authenticator, Credentials, JwtAuthenticator};
pub use claims::{Claims, Identity, RoleClaim};
pub use dev::{DEV_USER_NAMESPACE, load_or_create_dev_secret, user_id_for};
pub use jwt::{AuthError, AuthMode, JwtAuth, TokenRequest};
