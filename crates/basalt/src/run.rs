//! Binding, starting roles, readiness, and shutdown on Ctrl-C / SIGTERM.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use basalt_broker::{BrokerConfig, Listeners};
use basalt_namesrv::NamesrvConfig;
use basalt_store::StoreConfig;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::{Command, RoleArgs};
use crate::properties;

/// `<data-dir>/run/ready.json`: written once every role serves, removed at
/// clean shutdown. Tests and scripts wait on this file, never on a sleep.
#[derive(Serialize, Default)]
struct Ready {
    pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    namesrv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    broker: Option<String>,
}

/// Every role's configuration, from one properties file plus flags.
struct Configs {
    namesrv: NamesrvConfig,
    broker: BrokerConfig,
    store: StoreConfig,
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    let (args, with_namesrv, with_broker) = match command {
        Command::Bench(b) => return Ok(basalt_bench::run(b).await?),
        Command::Start(a) => (a, true, true),
        Command::Namesrv(a) => (a, true, false),
        Command::Broker(a) => (a, false, true),
        Command::Inspect(_) => anyhow::bail!("inspect does not run a role"),
    };
    let mut cfg = configs(
        &args,
        with_namesrv,
        with_broker,
        std::env::var("NAMESRV_ADDR").ok(),
    )?;
    if args.print_config || args.print_important {
        let text = crate::print_config::text(
            with_namesrv.then_some(&cfg.namesrv),
            with_broker.then_some((&cfg.broker, &cfg.store)),
            args.print_important,
        );
        print!("{text}");
        return Ok(());
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let mut ready = Ready {
        pid: std::process::id(),
        ..Ready::default()
    };
    let namesrv_stop = CancellationToken::new();
    let broker_stop = CancellationToken::new();
    let mut namesrv_task: Option<JoinHandle<anyhow::Result<()>>> = None;
    let mut broker_task: Option<JoinHandle<anyhow::Result<()>>> = None;

    if with_namesrv {
        let listener = bind(&args.bind, cfg.namesrv.listen_port).await?;
        let addr = advertised(listener.local_addr()?);
        ready.namesrv = Some(addr.to_string());
        if with_broker && cfg.broker.namesrv_addr.is_empty() {
            // Embedded mode: the broker registers with its own name server
            // over loopback, through the same code as a remote one.
            cfg.broker.namesrv_addr = vec![addr.to_string()];
        }
        let stop = namesrv_stop.clone().cancelled_owned();
        let config = cfg.namesrv.clone();
        namesrv_task = Some(tokio::spawn(async move {
            basalt_namesrv::serve(config, listener, stop)
                .await
                .context("name server failed")
        }));
    }
    if with_broker {
        let main = bind(&args.bind, cfg.broker.listen_port).await?;
        let port = main.local_addr()?.port();
        cfg.broker.listen_port = port;
        // The fast (VIP) port, listenPort - 2, for clients before 4.5.1. Only
        // with a fixed port: a random one has no meaningful neighbour.
        let fast = match (args.broker_port, port.checked_sub(2)) {
            (Some(0), _) | (_, None) => None,
            (_, Some(p)) => match bind(&args.bind, p).await {
                Ok(l) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "fast port not bound");
                    None
                }
            },
        };
        ready.broker = Some(cfg.broker.broker_addr().to_string());
        let broker = basalt_broker::open(cfg.broker.clone(), cfg.store.clone())
            .await
            .context("broker failed to start")?;
        let stop = broker_stop.clone().cancelled_owned();
        broker_task = Some(tokio::spawn(async move {
            broker
                .serve(Listeners { main, fast }, stop)
                .await
                .context("broker failed")
        }));
    }

    let ready_path = args.data_dir.join("run").join("ready.json");
    write_ready(&ready_path, &ready)?;
    tracing::info!(namesrv = ?ready.namesrv, broker = ?ready.broker, data_dir = %args.data_dir.display(), "basalt is ready");

    let failed = tokio::select! {
        () = wait_for_signal() => None,
        r = join_opt(&mut broker_task) => Some(r),
        r = join_opt(&mut namesrv_task) => Some(r),
    };
    tracing::info!("shutting down");
    // Broker first, so it can unregister from a name server still running.
    broker_stop.cancel();
    let mut outcome = match failed {
        Some(r) => r,
        None => Ok(()),
    };
    if let Some(t) = broker_task.take() {
        outcome = outcome.and(t.await.context("broker task panicked")?);
    }
    namesrv_stop.cancel();
    if let Some(t) = namesrv_task.take() {
        outcome = outcome.and(t.await.context("name server task panicked")?);
    }
    let _ = std::fs::remove_file(&ready_path);
    outcome
}

/// Resolves when the task (if any) ends; pending forever without one.
async fn join_opt(task: &mut Option<JoinHandle<anyhow::Result<()>>>) -> anyhow::Result<()> {
    match task {
        Some(t) => {
            let r = t.await.context("role task panicked")?;
            *task = None;
            r.and(Err(anyhow::anyhow!("role stopped unexpectedly")))
        }
        None => std::future::pending().await,
    }
}

/// The roles' settings: defaults, then `env_namesrv` (NAMESRV_ADDR), the
/// config file, then the flags.
fn configs(
    args: &RoleArgs,
    with_namesrv: bool,
    with_broker: bool,
    env_namesrv: Option<String>,
) -> anyhow::Result<Configs> {
    let mut namesrv = NamesrvConfig::new(&args.data_dir);
    let mut broker = BrokerConfig::new(&args.data_dir);
    // NAMESRV_ADDR is only the starting value (RocketMQ: the file and then
    // -n override it), and only for a broker on its own: the quickstart's
    // `export NAMESRV_ADDR=localhost:9876` for mqadmin must not send a
    // production broker, or an embedded one, elsewhere.
    if with_broker && !with_namesrv {
        if let Some(addrs) = &env_namesrv {
            broker.set("namesrvAddr", addrs)?;
        }
    }
    let pairs = match &args.config {
        Some(path) => properties::load(path)?,
        None => Vec::new(),
    };
    // The store's default root is under the data dir; a storePathRootDir in
    // the file comes later and wins.
    let root = args.data_dir.join("store").to_string_lossy().into_owned();
    let (store, store_unknown) = StoreConfig::from_properties(
        std::iter::once(("storePathRootDir", root.as_str()))
            .chain(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    )?;
    let mut unknown = BTreeSet::new();
    for (key, value) in &pairs {
        let mut known = with_broker && !store_unknown.contains(key);
        // `listenPort` means the broker's port in a broker.conf and the
        // name server's in a namesrv.properties: with both roles in one
        // process it goes to the broker, as in `broker.conf`.
        let namesrv_owns = with_namesrv && !(with_broker && key == "listenPort");
        if namesrv_owns {
            known |= namesrv.set(key, value)?;
        }
        if with_broker {
            known |= broker.set(key, value)?;
        }
        if !known {
            unknown.insert(key.clone());
        }
    }
    if let Some(path) = &args.config {
        // Where updateBrokerConfig keeps what it changes, as RocketMQ
        // writes back to the -c file.
        broker.broker_config_path = Some(path.clone());
        // A name server on its own owns its file; sharing a broker.conf
        // (`start -c`), its keys (listenPort) mean the broker's.
        if with_namesrv && !with_broker {
            namesrv.config_store_path = Some(path.clone());
        }
        for key in unknown {
            tracing::warn!(%key, file = %path.display(), "unknown configuration key ignored");
        }
    }
    if let Some(port) = args.namesrv_port {
        namesrv.listen_port = port;
    }
    if let Some(port) = args.broker_port {
        broker.listen_port = port;
    }
    if let Some(addrs) = &args.namesrv_addr {
        broker.set("namesrvAddr", addrs)?;
    }
    if with_broker && !with_namesrv && broker.namesrv_addr.is_empty() {
        anyhow::bail!("a broker needs name servers: pass -n host:9876 or set namesrvAddr");
    }
    // The address the broker registers and writes into message ids. A
    // broker on its own without brokerIP1 advertises, as RocketMQ does, a
    // non-loopback address of this host (the bound one, else the one the
    // default route leaves by): loopback made remote clients dial
    // themselves. The single-process `start` stays on loopback for local
    // use and says so when it listens on every interface.
    let ip_configured = pairs.iter().any(|(k, _)| k == "brokerIP1");
    if with_broker && !ip_configured {
        match args.bind.parse::<std::net::IpAddr>() {
            Ok(ip) if !ip.is_unspecified() => broker.broker_ip1 = ip,
            // A host name to bind: kept as the default (loopback) unless
            // brokerIP1 says otherwise.
            Err(_) => {}
            Ok(_) if !with_namesrv => match outbound_ip() {
                Some(ip) => broker.broker_ip1 = ip,
                None => tracing::warn!(
                    "no brokerIP1 and no non-loopback address found: clients on other hosts cannot reach this broker"
                ),
            },
            Ok(_) => tracing::info!(
                "advertising 127.0.0.1 (set brokerIP1 for clients on other hosts)"
            ),
        }
    }
    // One root for the store and the broker's metadata, whichever key set it.
    broker
        .store_path_root_dir
        .clone_from(&store.store_path_root_dir);
    Ok(Configs {
        namesrv,
        broker,
        store,
    })
}

async fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind((host, port))
        .await
        .with_context(|| format!("cannot bind {host}:{port}"))
}

/// This host's address on its default route (no packet is sent: a UDP
/// socket's connect only picks the route), if it has one and it is not
/// loopback.
fn outbound_ip() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("198.51.100.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::RoleArgs;

    fn args(config: Option<PathBuf>, namesrv_addr: Option<&str>) -> RoleArgs {
        RoleArgs {
            data_dir: PathBuf::from("/tmp/basalt-test-data"),
            config,
            namesrv_port: None,
            broker_port: None,
            namesrv_addr: namesrv_addr.map(str::to_owned),
            bind: "127.0.0.1".into(),
            print_config: false,
            print_important: false,
        }
    }

    #[test]
    fn namesrv_addr_comes_from_flag_then_file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("broker.conf");
        std::fs::write(
            &conf,
            b"namesrvAddr=file:9876\n# a comment in GBK: \xd6\xd0\xce\xc4 \xff\n",
        )
        .unwrap();
        let env = || Some("env:9876".to_owned());
        let with_file = configs(&args(Some(conf.clone()), None), false, true, env()).unwrap();
        assert_eq!(with_file.broker.namesrv_addr, ["file:9876"]);
        let flag = configs(&args(Some(conf), Some("flag:9876")), false, true, env()).unwrap();
        assert_eq!(flag.broker.namesrv_addr, ["flag:9876"]);
        let only_env = configs(&args(None, None), false, true, env()).unwrap();
        assert_eq!(only_env.broker.namesrv_addr, ["env:9876"]);
        // The embedded broker registers with its own name server.
        let embedded = configs(&args(None, None), true, true, env()).unwrap();
        assert!(embedded.broker.namesrv_addr.is_empty());
    }

    #[test]
    fn a_broker_advertises_what_it_binds_or_a_routable_address() {
        let with_bind = |bind: &str, config: Option<PathBuf>, namesrv: bool| {
            let mut a = args(config, Some("ns:9876"));
            a.bind = bind.into();
            configs(&a, namesrv, true, None).unwrap().broker.broker_ip1
        };
        let specific: std::net::IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(with_bind("10.1.2.3", None, false), specific);
        // Every interface: a routable address of this host, if it has one.
        let any = with_bind("0.0.0.0", None, false);
        assert_eq!(Some(any), outbound_ip().or(Some(any)));
        assert!(outbound_ip().is_none() || !any.is_loopback());
        // Configured wins; the single-process start stays on loopback.
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("broker.conf");
        std::fs::write(&conf, "brokerIP1=10.9.9.9\n").unwrap();
        let configured: std::net::IpAddr = "10.9.9.9".parse().unwrap();
        assert_eq!(with_bind("0.0.0.0", Some(conf), false), configured);
        assert!(with_bind("0.0.0.0", None, true).is_loopback());
    }
}
