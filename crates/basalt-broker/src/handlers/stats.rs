//! VIEW_BROKER_STATS_DATA (315): one statistics item's minute, hour and
//! day windows (`mqadmin statsAll`, the console's dashboard). See
//! [`crate::stats`].

use basalt_protocol::headers::admin::ViewBrokerStatsDataRequest;
use basalt_protocol::{RemotingCommand, ResponseCode};
use basalt_remoting::Request;
use serde::Serialize;

use crate::handlers::admin::AdminState;
use crate::handlers::Outcome;
use crate::stats::Snapshot;

/// `BrokerStatsItem`.
#[derive(Serialize)]
struct StatsItem {
    sum: u64,
    tps: f64,
    avgpt: f64,
}

impl From<Snapshot> for StatsItem {
    fn from(s: Snapshot) -> Self {
        Self {
            sum: s.sum,
            tps: s.tps,
            avgpt: s.avgpt,
        }
    }
}

/// `BrokerStatsData`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatsData {
    stats_day: StatsItem,
    stats_hour: StatsItem,
    stats_minute: StatsItem,
}

pub fn view(s: &AdminState, req: &Request) -> Outcome {
    let h: ViewBrokerStatsDataRequest = req.cmd.header()?;
    let Some(w) = s.stats.windows(&h.stats_name, &h.stats_key) else {
        // RocketMQ's answer for an item nothing was counted under yet.
        return Ok(RemotingCommand::response(
            ResponseCode::SystemError,
            format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
        ));
    };
    let body = StatsData {
        stats_day: w.day.into(),
        stats_hour: w.hour.into(),
        stats_minute: w.minute.into(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    Ok(RemotingCommand::success().with_body(json))
}
