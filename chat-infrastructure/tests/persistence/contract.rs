//! The repository contract suite from `chat_domain::testing`, on every backend.

use crate::support;

chat_domain::repository_contract_tests!(sqlite_memory => || async { support::setup(Some(support::sqlite_memory().await)) });
chat_domain::repository_contract_tests!(sqlite_file => || async { support::setup(Some(support::sqlite_file().await)) });
chat_domain::repository_contract_tests!(postgres => || async { support::setup(support::postgres().await) });
