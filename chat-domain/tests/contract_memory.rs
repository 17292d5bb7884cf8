//! The repository contract suite, run against the in-memory store.

#![cfg(feature = "testing")]

use std::sync::Arc;

use chat_domain::Repositories;
use chat_domain::memory::InMemoryChatStore;

chat_domain::repository_contract_tests!(in_memory => || async {
    Repositories::from_store(Arc::new(InMemoryChatStore::new()))
});

// The skip path: a factory whose store is not available passes every case after saying why.
mod unavailable_store {
    use chat_domain::testing::{ContractSetup, run_contract_case};

    #[test]
    fn a_factory_without_a_store_skips_the_case() {
        run_contract_case(
            "skipped",
            || async { None::<chat_domain::Repositories> },
            |_| Box::pin(async { panic!("a skipped case must not run") }),
        );
        run_contract_case(
            "skipped",
            || async { ContractSetup::Skip("no database configured".to_owned()) },
            |_| Box::pin(async { panic!("a skipped case must not run") }),
        );
    }
}
