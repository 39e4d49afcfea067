//! JSON bodies, named and shaped as the Java classes serialise them (fields
//! alphabetical, camelCase). Decoding goes through [`crate::fastjson`];
//! encoding writes compact standard JSON.

pub mod client;
pub mod cluster;
pub mod register;
pub mod route;
pub mod tables;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ProtocolError;

/// A JSON body: decode leniently from a peer, encode compactly.
pub trait JsonBody: Serialize + DeserializeOwned {
    /// Name used in error messages.
    const WHAT: &'static str;

    fn decode(raw: &[u8]) -> Result<Self, ProtocolError> {
        crate::fastjson::from_slice(Self::WHAT, raw)
    }

    fn encode(&self) -> Vec<u8> {
        // Serialising these plain structs cannot fail: every map key is a
        // string or an integer, which serde_json writes as a quoted key.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
