//! `SIGTERM` under load: the process exits within 10 s, and every acknowledged send is in the database
//! when it is started again; clients resend the rest with the same `clientMessageId`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chat_tests::history::check;
use chat_tests::load::{LoadConfig, LoadRun, Target};
use chat_tests::process::ServerProcess;
use chat_tests::temp_dir;
use tokio::sync::watch;

use crate::support::{assert_integrity, print_report, wait_progress};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_exits_within_10_s_and_keeps_every_acknowledged_send() {
    let dir = temp_dir();
    let url = format!("sqlite://{}?mode=rwc", dir.join("chat.db").display());
    let config = LoadConfig::from_env(2_000);
    let started = Instant::now();
    let server = ServerProcess::start(&dir, &url, 0).await;
    let port = server.port;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let (generation, rx) = watch::channel(0_u64);
    let target = Target { base: server.base.clone(), generation: rx };
    let mut run = LoadRun::prepare(&http, &server.base, &config).await;
    let progress = run.progress.clone();
    let stopper = async {
        let mut server = server;
        wait_progress(&progress, config.messages / 3, Duration::from_secs(120)).await;
        let at = progress.load(Ordering::SeqCst);
        let signalled = Instant::now();
        server.signal("TERM");
        let status = server.wait_exit(Duration::from_secs(10)).await;
        let took = signalled.elapsed();
        let log = server.log();
        let status = status.unwrap_or_else(|| panic!("chat-host still runs 10 s after SIGTERM; its log:\n{log}"));
        assert!(status.success(), "chat-host exited with {status} after SIGTERM; its log:\n{log}");
        let server = ServerProcess::start(&dir, &url, port).await;
        generation.send_modify(|g| *g += 1);
        (server, at, took)
    };
    let ((), (mut server, at, took)) = tokio::join!(run.send(&target), stopper);
    println!("stop: SIGTERM at {at} of {} acknowledged messages; exited after {took:.2?}", config.messages);
    assert!(at < config.messages, "the load was over before the stop");

    let observed = run.finish(&http, &target).await;
    let report = check(&run.history.entries(), &observed);
    run.close().await;
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(10)).await.is_some(), "no exit after SIGTERM:\n{}", server.log());
    print_report(&format!("stop: {} messages, SIGTERM once", config.messages), &report, started.elapsed());
    assert_integrity(&url).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.acknowledged, config.messages, "{report}");
    assert_eq!(report.stored, config.messages, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
