//! Binding, starting roles, readiness, and shutdown on Ctrl-C / SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use basalt_namesrv::NamesrvConfig;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::{Command, RoleArgs};
use crate::properties;

/// `<data-dir>/run/ready.json`: written once every role serves, removed at
/// clean shutdown. Tests and scripts wait on this file, never on a sleep.
#[derive(Serialize)]
struct Ready {
    pid: u32,
    namesrv: String,
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    let args = match command {
        Command::Start(a) | Command::Namesrv(a) => a,
    };
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let namesrv = namesrv_config(&args)?;
    let listener = bind(&args.bind, namesrv.listen_port).await?;
    let namesrv_addr = advertised(listener.local_addr()?);

    let stop = CancellationToken::new();
    let role = tokio::spawn(basalt_namesrv::serve(
        namesrv,
        listener,
        stop.clone().cancelled_owned(),
    ));

    let ready_path = args.data_dir.join("run").join("ready.json");
    write_ready(
        &ready_path,
        &Ready {
            pid: std::process::id(),
            namesrv: namesrv_addr.to_string(),
        },
    )?;
    tracing::info!(namesrv = %namesrv_addr, data_dir = %args.data_dir.display(), "basalt is ready");

    wait_for_signal().await;
    tracing::info!("shutting down");
    stop.cancel();
    let outcome = role.await.context("name server task failed")?;
    let _ = std::fs::remove_file(&ready_path);
    outcome.context("name server stopped with an error")
}

fn namesrv_config(args: &RoleArgs) -> anyhow::Result<NamesrvConfig> {
    let mut cfg = NamesrvConfig::new(&args.data_dir);
    if let Some(path) = &args.config {
        let mut unknown = std::collections::BTreeSet::new();
        for (key, value) in properties::load(path)? {
            if !cfg.set(&key, &value)? {
                unknown.insert(key);
            }
        }
        for key in unknown {
            tracing::warn!(%key, file = %path.display(), "unknown configuration key ignored");
        }
    }
    if let Some(port) = args.namesrv_port {
        cfg.listen_port = port;
    }
    Ok(cfg)
}

async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind((host, port))
        .await
        .with_context(|| format!("cannot bind {host}:{port}"))
}

/// The address clients should dial: loopback when bound to all interfaces.
fn advertised(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], bound.port()))
    } else {
        bound
    }
}

fn write_ready(path: &Path, ready: &Ready) -> anyhow::Result<()> {
    let dir: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join("ready.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(ready)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    // Rename so readers never see a half-written file.
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
