//! Under load: 50 sockets in 20 direct and group conversations send 2,000 messages with acknowledgements
//! (retrying with the same `clientMessageId`): none lost, none duplicated, every member sees each
//! conversation in `seq` order, and unread counts agree with the read watermarks.

use std::time::Instant;

use chat_host::config::Durability;
use chat_tests::history::check;
use chat_tests::load::{LoadConfig, LoadRun, Target};
use chat_tests::spawn_app_with;
use tokio::sync::watch;

use crate::support::print_report;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_under_load_arrive_once_in_order_and_none_is_lost() {
    let app = spawn_app_with(|c| c.database.durability = Durability::Strict).await;
    let config = LoadConfig::from_env(2_000);
    let started = Instant::now();
    let (_generation, rx) = watch::channel(0_u64);
    let target = Target { base: app.base.clone(), generation: rx };
    let mut run = LoadRun::prepare(&app.http, &app.base, &config).await;
    println!("delivery: prepared in {:.1?}", started.elapsed());
    run.send(&target).await;
    println!("delivery: sent in {:.1?}", started.elapsed());
    let observed = run.finish(&app.http, &target).await;
    println!("delivery: caught up in {:.1?}", started.elapsed());
    let report = check(&run.history.entries(), &observed);
    run.close().await;
    print_report(
        &format!(
            "delivery: {} messages, {} sockets, {} conversations",
            config.messages, config.sockets, config.conversations
        ),
        &report,
        started.elapsed(),
    );
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.acknowledged, config.messages, "{report}");
    assert_eq!(report.stored, config.messages, "{report}");
    let members: usize =
        observed.stored.iter().map(|m| observed.members.get(&m.conversation).map_or(0, |members| members.len())).sum();
    assert_eq!(report.deliveries_applied, members, "every member's socket applied every message once");
}
