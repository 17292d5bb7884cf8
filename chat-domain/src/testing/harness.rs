//! Running one contract case against a store built by a factory, and the macro that expands the whole
//! suite into one test per case in the calling crate.

use std::future::Future;

use crate::Repositories;
use crate::uow::BoxFuture;

/// What a store factory yields: a store to test, or why this store cannot be tested here (for example no
/// PostgreSQL URL is configured), in which case the cases pass after printing the reason.
#[derive(Debug)]
pub enum ContractSetup {
    /// A fresh, empty store.
    Ready(Repositories),
    /// The store is not available; the reason is printed.
    Skip(String),
}

impl From<Repositories> for ContractSetup {
    fn from(repos: Repositories) -> Self {
        Self::Ready(repos)
    }
}

impl From<Option<Repositories>> for ContractSetup {
    fn from(repos: Option<Repositories>) -> Self {
        repos.map_or_else(|| Self::Skip("the store factory returned no store".to_owned()), Self::Ready)
    }
}

/// Runs one case on its own multi-threaded runtime: builds the store with `factory`, then runs `case`
/// against it. Used by [`repository_contract_tests!`](crate::repository_contract_tests); callable directly
/// to run a single case.
pub fn run_contract_case<F, Fut, S>(name: &str, factory: F, case: fn(Repositories) -> BoxFuture<'static, ()>)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = S>,
    S: Into<ContractSetup>,
{
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a test runtime");
    runtime.block_on(async move {
        match factory().await.into() {
            ContractSetup::Ready(repos) => case(repos).await,
            ContractSetup::Skip(reason) => eprintln!("skipped contract case {name}: {reason}"),
        }
    });
}

/// Expands, in the calling crate, into one `#[test]` per contract case, each on a fresh store from
/// `factory` (a closure or `async fn` whose future yields `Repositories`, `Option<Repositories>` or
/// [`ContractSetup`](crate::testing::ContractSetup)). Each test runs on its own multi-threaded Tokio
/// runtime, so the calling crate needs no Tokio of its own.
///
/// `repository_contract_tests!(name => factory)` puts the tests in a module `name` (to run the suite on
/// several stores in one file); `repository_contract_tests!(factory)` puts them in the current module.
#[macro_export]
macro_rules! repository_contract_tests {
    ($module:ident => $factory:expr $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::repository_contract_tests!($factory);
        }
    };
    ($factory:expr $(,)?) => {
        $crate::__repository_contract_cases! {
            $factory;
            // ports, one by one
            messages_are_found_by_id_and_by_client_id,
            history_pages_follow_order_cursors_time_range_and_limit,
            client_message_id_is_unique_per_tenant_and_sender,
            direct_conversation_is_unique_per_user_and_peer,
            conversation_list_is_newest_first_with_keyset_archived_and_hidden,
            bulk_operations_keep_unread_counts_and_watermarks,
            forgetting_skips_members_who_hid_the_message,
            total_unread_sums_every_side,
            receipts_come_from_the_receipt_log,
            reactions_are_added_and_removed_idempotently,
            hidden_messages_leave_only_the_hiders_view,
            search_matches_all_words_in_the_viewers_conversations,
            events_get_growing_positions_per_recipient,
            pruned_events_move_the_window,
            settings_have_defaults_and_are_saved,
            attachments_are_recorded_and_attached,
            users_are_found_and_searched,
            groups_are_saved_with_paged_members,
            purge_removes_everything_of_a_conversation,
            // the write path
            failed_unit_of_work_leaves_nothing_behind,
            unit_of_work_sees_its_own_writes,
            another_tenant_sees_nothing,
            // domain rules through the MessagingManager
            sending_to_a_user_creates_the_direct_conversation_once,
            non_member_cannot_send,
            reply_from_another_conversation_is_refused,
            member_cannot_remove_an_admin,
            ownership_is_transferred,
            last_owner_leaving_deletes_the_group,
            owner_leaving_passes_ownership_to_longest_standing_admin,
            editing_someone_elses_message_is_refused,
            deletion_period_is_enforced,
            group_admin_may_delete_for_everyone_but_plain_member_may_not,
            unread_counts_follow_sends_reads_and_deletions,
            unread_total_equals_the_sum_of_sides_after_every_operation,
            resend_with_same_client_message_id_returns_the_original,
            concurrent_sends_get_gap_free_seqs,
            events_are_recorded_for_every_member_and_returned_after_commit,
            a_message_hidden_by_a_member_is_out_of_their_reach,
            group_events_name_what_happened,
        }
    };
}

/// The list of cases behind [`repository_contract_tests!`](crate::repository_contract_tests).
#[doc(hidden)]
#[macro_export]
macro_rules! __repository_contract_cases {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::testing::run_contract_case(stringify!($case), $factory, |repos| {
                    ::std::boxed::Box::pin(async move { $crate::testing::cases::$case(&repos).await })
                });
            }
        )*
    };
}
