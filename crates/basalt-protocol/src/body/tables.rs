//! Small list and table bodies: `KVTable`, `TopicList`, `GroupList`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::JsonBody;

/// `KVTable`: the key/value pairs of one KV-config namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    pub table: BTreeMap<String, String>,
}

impl JsonBody for KvTable {
    const WHAT: &'static str = "KVTable";
}

/// `TopicList`: topic names, and for some codes the broker they came from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
    pub topic_list: BTreeSet<String>,
}

impl JsonBody for TopicList {
    const WHAT: &'static str = "TopicList";
}

/// `GroupList`: consumer group names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    pub group_list: BTreeSet<String>,
}

impl JsonBody for GroupList {
    const WHAT: &'static str = "GroupList";
}
