//! The real `basalt` binary: readiness, configuration, clean shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode};
use basalt_remoting::Router;
use basalt_testkit::Basalt;

mod bench;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_basalt"))
}

#[tokio::test]
async fn start_serves_the_name_server_and_stops_cleanly_on_sigterm() {
    let mut b = Basalt::start(bin(), "start", &[]).unwrap();
    let addr = b.addr("namesrv").unwrap();
    assert!(b.data_dir().join("run/ready.json").exists());
    let c = basalt_remoting::connect(addr.as_str(), Arc::new(Router::new()))
        .await
        .unwrap();
    let r = c
        .invoke(
            RemotingCommand::request(RequestCode::GetBrokerClusterInfo),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success);
    let status = b.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(
        !b.data_dir().join("run/ready.json").exists(),
        "ready.json removed at clean shutdown"
    );
}

#[tokio::test]
async fn properties_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("namesrv.properties");
    let kv = dir.path().join("custom-kv.json");
    std::fs::write(
        &conf,
        format!(
            "# RocketMQ keys\nlistenPort=1\nkvConfigPath={}\nsomeUnknownKey=1\n",
            kv.display()
        ),
    )
    .unwrap();
    // listenPort=1 from the file would fail to bind; the flag (port 0) wins.
    let b = Basalt::start_in(
        bin(),
        "namesrv",
        &dir.path().join("data"),
        &["-c", conf.to_str().unwrap()],
    )
    .unwrap();
    let addr = b.addr("namesrv").unwrap();
    let c = basalt_remoting::connect(addr.as_str(), Arc::new(Router::new()))
        .await
        .unwrap();
    let mut put = RemotingCommand::request(RequestCode::PutKvConfig);
    for (k, v) in [("namespace", "n"), ("key", "k"), ("value", "v")] {
        put.ext_fields.insert(k, v);
    }
    let r = c.invoke(put, Duration::from_secs(5)).await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert!(kv.exists(), "kvConfigPath from the properties file is used");
}

/// `-p` / `-m` print the settings a role would run with, file and flags
/// applied, and start nothing (no data dir is made).
#[test]
fn print_config_shows_the_settings_without_starting() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "brokerName=broker-x\nflushDiskType=SYNC_FLUSH\nfileReservedTime=9\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let print = |flag: &str| {
        let out = std::process::Command::new(bin())
            .args([
                "broker",
                flag,
                "-n",
                "127.0.0.1:9",
                "--broker-port",
                "10111",
                "-c",
            ])
            .arg(&conf)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let all = print("-p");
    for line in [
        "brokerName=broker-x",
        "flushDiskType=SYNC_FLUSH",
        "fileReservedTime=9",
        "listenPort=10111",
        "namesrvAddr=127.0.0.1:9",
    ] {
        assert!(all.lines().any(|l| l == line), "{line} in\n{all}");
    }
    let important = print("-m");
    assert!(
        important.lines().any(|l| l == "flushDiskType=SYNC_FLUSH"),
        "{important}"
    );
    assert!(!important.contains("brokerName="), "{important}");
    assert!(important.lines().count() < all.lines().count());
    assert!(!data.exists());
}

#[test]
fn unreadable_config_fails_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .args([
            "namesrv",
            "--namesrv-port",
            "0",
            "-c",
            "/nonexistent/namesrv.properties",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read config file"), "{err}");
}

#[test]
fn inspect_reads_a_store_written_by_apache_rocketmq() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../basalt-store/tests/fixtures/rocketmq-store");
    let out = std::process::Command::new(bin())
        .args(["inspect", "--records"])
        .arg(&fixture)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok: "), "{stdout}");
    assert!(
        stdout.lines().filter(|l| l.starts_with("phys=")).count() > 0,
        "{stdout}"
    );
}

#[test]
fn inspect_refuses_a_corrupted_store_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../basalt-store/tests/fixtures/rocketmq-store/commitlog");
    let copy = dir.path().join("commitlog");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        let mut bytes = std::fs::read(entry.path()).unwrap();
        // Flip a byte inside the first record's body: its CRC no longer holds.
        bytes[100] ^= 0xFF;
        std::fs::write(copy.join(entry.file_name()), bytes).unwrap();
    }
    let out = std::process::Command::new(bin())
        .arg("inspect")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("commitlog"), "{err}");
}
