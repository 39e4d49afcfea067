//! PUT/GET/DELETE_KV_CONFIG and GET_KVLIST_BY_NAMESPACE.

use basalt_protocol::body::tables::KvTable;
use basalt_protocol::body::JsonBody;
use basalt_protocol::headers::namesrv::{
    GetKvConfigResponse, GetKvListByNamespaceRequest, KvConfigKeyRequest, PutKvConfigRequest,
};
use basalt_protocol::RemotingCommand;
use basalt_remoting::Request;

use super::Outcome;
use crate::{KvConfig, NamesrvError};

pub fn put(kv: &KvConfig, req: &Request) -> Outcome {
    let h: PutKvConfigRequest = req.cmd.header()?;
    kv.put(&h.namespace, &h.key, &h.value)?;
    Ok(RemotingCommand::success())
}

pub fn get(kv: &KvConfig, req: &Request) -> Outcome {
    let h: KvConfigKeyRequest = req.cmd.header()?;
    match kv.get(&h.namespace, &h.key) {
        Some(value) => {
            Ok(RemotingCommand::success().with_header(&GetKvConfigResponse { value: Some(value) }))
        }
        None => Err(NamesrvError::KvNotFound {
            namespace: h.namespace,
            key: h.key,
        }),
    }
}

pub fn delete(kv: &KvConfig, req: &Request) -> Outcome {
    let h: KvConfigKeyRequest = req.cmd.header()?;
    kv.delete(&h.namespace, &h.key)?;
    Ok(RemotingCommand::success())
}

pub fn list(kv: &KvConfig, req: &Request) -> Outcome {
    let h: GetKvListByNamespaceRequest = req.cmd.header()?;
    match kv.namespace(&h.namespace) {
        Some(table) => Ok(RemotingCommand::success().with_body(KvTable { table }.encode())),
        None => Err(NamesrvError::KvNamespaceNotFound(h.namespace)),
    }
}
