//! B7: cross-node delivery. Needs two chat nodes sharing PostgreSQL and a broker (`CHAT_BUS_URL`); the
//! cluster mode is not implemented yet, so this reports itself skipped.

use super::{BenchResult, Suite};

pub(super) async fn run(suite: &Suite) -> anyhow::Result<BenchResult> {
    Ok(BenchResult::skipped("B7", suite, "cluster mode not implemented yet"))
}
