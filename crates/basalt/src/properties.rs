//! Java `.properties` files, as RocketMQ users already have them.

use std::path::Path;

use anyhow::Context;

use basalt_protocol::config_text::parse;

pub fn load(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let raw = std::fs::read(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    // Java reads properties files as ISO-8859-1 and never fails on a byte;
    // a comment in another encoding must not stop the start.
    Ok(parse(&String::from_utf8_lossy(&raw)))
}
