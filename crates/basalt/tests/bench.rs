//! Smoke of `basalt bench`: a short producer and consumer against the real
//! binary, asserting zero failures and non-zero rates. Figures come from
//! `bench/compare.sh`, never from here.

use std::process::Command;

use basalt_testkit::Basalt;

use super::bin;

fn bench(args: &[&str], json: &std::path::Path) -> serde_json::Value {
    let out = Command::new(bin())
        .arg("bench")
        .args(args)
        .arg("--quiet")
        .arg("--json")
        .arg(json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "basalt bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

#[test]
fn bench_producer_then_consumer_run_clean() {
    let b = Basalt::start(bin(), "start", &[]).unwrap();
    let ns = b.addr("namesrv").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = bench(
        &[
            "producer",
            "-n",
            &ns,
            "-t",
            "BenchSmoke",
            "-d",
            "2",
            "-w",
            "4",
            "-s",
            "124",
        ],
        &dir.path().join("producer.json"),
    );
    let best = &p["best"];
    assert_eq!(best["failures"], 0, "{p}");
    assert!(best["tps"].as_f64().unwrap() > 0.0, "{p}");
    let sent = best["messages"].as_u64().unwrap();
    assert!(sent > 0);

    let c = bench(
        &["consumer", "-n", &ns, "-t", "BenchSmoke", "-d", "1"],
        &dir.path().join("consumer.json"),
    );
    let s = &c["summary"];
    assert_eq!(s["failures"], 0, "{c}");
    assert!(s["messages"].as_u64().unwrap() > 0, "{c}");
    assert!(s["tps"].as_f64().unwrap() > 0.0, "{c}");

    // A drain stops once it has every stored message, long before -d.
    let d = bench(
        &[
            "consumer",
            "-n",
            &ns,
            "-t",
            "BenchSmoke",
            "--drain",
            "-d",
            "60",
        ],
        &dir.path().join("drain.json"),
    );
    let s = &d["summary"];
    assert_eq!(s["failures"], 0, "{d}");
    assert!(s["messages"].as_u64().unwrap() >= sent, "{d}");
    assert!(s["seconds"].as_f64().unwrap() < 60.0, "{d}");
}

/// The echo server `bench/compare.sh` divides by: it must answer sends
/// (and the client's route and heartbeat calls) like a broker.
#[test]
fn bench_echo_server_answers_the_producer() {
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let _echo = Kill(
        Command::new(bin())
            .args(["bench", "echo", "--port", "0", "--bind", "127.0.0.1"])
            .arg("--ready-file")
            .arg(&ready)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let addr = loop {
        let parsed = std::fs::read(&ready)
            .ok()
            .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok());
        if let Some(addr) = parsed.as_ref().and_then(|v| v["namesrv"].as_str()) {
            break addr.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "echo server not ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let p = bench(
        &[
            "producer",
            "-n",
            &addr,
            "-t",
            "EchoSmoke",
            "-d",
            "1",
            "-w",
            "4",
            "-s",
            "124",
        ],
        &dir.path().join("echo.json"),
    );
    let best = &p["best"];
    assert_eq!(best["failures"], 0, "{p}");
    assert!(best["messages"].as_u64().unwrap() > 0, "{p}");
}
