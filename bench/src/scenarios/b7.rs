//! B7: cross-node delivery. Needs two chat nodes sharing PostgreSQL and a broker (`CHAT_BUS_URL`). Cluster
//! mode exists, but the two-node scenario is not written yet, so this reports itself skipped.

use super::{BenchResult, Suite};

pub(super) async fn run(suite: &Suite) -> anyhow::Result<BenchResult> {
    Ok(BenchResult::skipped(
        "B7",
        suite,
        "the two-node scenario is not written yet (cluster mode itself works: see tests/tests/realtime/cluster.rs)",
    ))
}
