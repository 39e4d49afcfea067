//! Topic routes from the name server, turned into (broker address, queue) lists.

use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::body::route::{TopicRouteData, MASTER_ID};
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::namesrv::GetRouteInfoRequest;
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::{Connection, Router};

use crate::BenchError;

/// The topic a broker auto-creates new topics from (`TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const AUTO_CREATE_TOPIC: &str = "TBW102";

/// Queues a producer creates a topic with through TBW102 (`defaultTopicQueueNums`).
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;

/// One queue of a topic on one broker master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTarget {
    pub broker_addr: String,
    pub queue_id: i32,
}

pub async fn connect(addr: &str) -> Result<Arc<Connection>, BenchError> {
    basalt_remoting::connect(addr, Arc::new(Router::new()))
        .await
        .map_err(|source| BenchError::Connect {
            addr: addr.to_owned(),
            source,
        })
}

/// GET_ROUTEINFO_BY_TOPIC; `None` when the name server does not know the topic.
pub async fn fetch(
    namesrv: &Connection,
    topic: &str,
    timeout: Duration,
) -> Result<Option<TopicRouteData>, BenchError> {
    let cmd = RemotingCommand::request(RequestCode::GetRouteinfoByTopic).with_header(
        &GetRouteInfoRequest {
            topic: topic.to_owned(),
            accept_standard_json_only: None,
        },
    );
    let r = namesrv
        .invoke(cmd, timeout)
        .await
        .map_err(|source| BenchError::Remoting {
            what: "GET_ROUTEINFO_BY_TOPIC",
            source,
        })?;
    match r.response_code() {
        ResponseCode::Success => Ok(Some(TopicRouteData::decode(&r.body)?)),
        ResponseCode::TopicNotExist => Ok(None),
        _ => Err(BenchError::Refused {
            what: "GET_ROUTEINFO_BY_TOPIC",
            code: r.code,
            remark: r.remark.unwrap_or_default(),
        }),
    }
}

/// Every (master, queue) of `route`, taking `write` or read queue counts,
/// capped at `cap` queues per broker.
pub fn queues(route: &TopicRouteData, write: bool, cap: Option<i32>) -> Vec<QueueTarget> {
    let mut out = Vec::new();
    for q in &route.queue_datas {
        let Some(addr) = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == q.broker_name)
            .and_then(|b| b.broker_addrs.get(&MASTER_ID))
        else {
            continue;
        };
        let n = if write {
            q.write_queue_nums
        } else {
            q.read_queue_nums
        };
        let n = cap.map_or(n, |c| n.min(c));
        out.extend((0..n).map(|queue_id| QueueTarget {
            broker_addr: addr.clone(),
            queue_id,
        }));
    }
    out
}

/// The write queues of `topic`; for a topic the name server does not know
/// yet, TBW102's brokers with [`DEFAULT_TOPIC_QUEUE_NUMS`] queues, so the
/// first send auto-creates it (as the Java producer does).
pub async fn write_queues(
    namesrv: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<QueueTarget>, BenchError> {
    let conn = connect(namesrv).await?;
    let targets = match fetch(&conn, topic, timeout).await? {
        Some(route) => queues(&route, true, None),
        None => match fetch(&conn, AUTO_CREATE_TOPIC, timeout).await? {
            Some(route) => queues(&route, true, Some(DEFAULT_TOPIC_QUEUE_NUMS)),
            None => Vec::new(),
        },
    };
    conn.close();
    if targets.is_empty() {
        return Err(BenchError::Route {
            topic: topic.to_owned(),
            reason: format!("no master with write queues (nor for {AUTO_CREATE_TOPIC})"),
        });
    }
    Ok(targets)
}

/// The read queues of an existing `topic`.
pub async fn read_queues(
    namesrv: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<QueueTarget>, BenchError> {
    let conn = connect(namesrv).await?;
    let route = fetch(&conn, topic, timeout).await?;
    conn.close();
    let targets = route.map(|r| queues(&r, false, None)).unwrap_or_default();
    if targets.is_empty() {
        return Err(BenchError::Route {
            topic: topic.to_owned(),
            reason: "the name server knows no readable queue".into(),
        });
    }
    Ok(targets)
}
