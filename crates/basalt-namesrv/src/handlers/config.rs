//! UPDATE_NAMESRV_CONFIG (318, `mqadmin updateNamesrvConfig`): the body
//! is `key=value` lines. Applied all or nothing (a black-listed key or a
//! value its key cannot take refuses the update; keys the name server does
//! not know are ignored, as RocketMQ ignores them). The switches handlers
//! read per request (`orderMessageEnable`, `enableAllTopicList`,
//! `enableTopicList`, `returnOrderTopicConfigToBroker`,
//! `brokerChannelExpiredTime`) apply at once, the rest at the next start.
//! A name server started on its own from a file writes the changed keys
//! back to it (in place, comments kept).

use basalt_protocol::config_text;
use basalt_protocol::RemotingCommand;
use basalt_remoting::Request;

use super::{Outcome, RouteState};
use crate::NamesrvError;

/// Keys no update may set whatever `configBlackList` says.
const ALWAYS_BLACK: [&str; 4] = [
    "configBlackList",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
];

pub fn update(state: &RouteState, req: &Request) -> Outcome {
    let pairs = config_text::parse(&String::from_utf8_lossy(&req.cmd.body));
    tracing::info!(caller = %req.conn.peer(), ?pairs, "updateNamesrvConfig");
    let mut config = state.config.write();
    if let Some(key) = config_text::black_listed(&pairs, &ALWAYS_BLACK, &config.config_black_list) {
        return Err(NamesrvError::BlackListed(key.to_owned()));
    }
    let mut next = config.clone();
    let mut known = Vec::new();
    for (key, value) in &pairs {
        if next.set(key, value)? {
            known.push((key.clone(), value.trim().to_owned()));
        } else {
            tracing::warn!(%key, "updateNamesrvConfig: unknown key ignored");
        }
    }
    let path = next.config_store_path.clone();
    *config = next;
    // Route queries read the settings: the file is written after the swap,
    // under its own lock, taken first so writes follow update order.
    let _turn = state.config_file.lock();
    drop(config);
    if let Some(path) = path.filter(|_| !known.is_empty()) {
        // Applied even when the file cannot take it, as RocketMQ does.
        if let Err(e) = config_text::update_file(&path, &known) {
            tracing::warn!(error = %e, file = %path.display(), "updateNamesrvConfig: the change applies but is not kept");
        }
    }
    Ok(RemotingCommand::success())
}
