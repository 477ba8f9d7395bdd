//! The `gridwalk-server` binary, run as a user would: migrate, user add, import (CSV and GeoJSON,
//! good and bad, dry run), and the demo server answering a real login and pull.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gridwalk_server::fixtures::{self, DistrictShape};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gridwalk-server"));
    for var in [
        "GRIDWALK_CONFIG",
        "GRIDWALK_DATA",
        "GRIDWALK_DB",
        "GRIDWALK_LISTEN",
    ] {
        c.env_remove(var);
    }
    c.env("RUST_LOG", "warn");
    c
}

fn run(args: &[&str], data: &Path, stdin: &str) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn migrate_user_add_and_import() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path();
    let (code, out, err) = run(&["migrate"], data, "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied migrations [1]"), "{out}");
    let (_, out, _) = run(&["migrate"], data, "");
    assert!(out.contains("schema is current"), "{out}");

    let (code, out, err) = run(
        &[
            "user",
            "add",
            "w1",
            "--role",
            "worker",
            "--scope",
            "grid:S01C01G001",
        ],
        data,
        "long-enough-pw\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created worker w1 (grid:S01C01G001)"), "{out}");
    let (code, _, err) = run(
        &[
            "user",
            "add",
            "w1",
            "--role",
            "worker",
            "--scope",
            "grid:S01C01G001",
        ],
        data,
        "long-enough-pw\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = run(
        &["user", "add", "w2", "--role", "boss", "--scope", "district"],
        data,
        "long-enough-pw\n",
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown role"), "{err}");
    let (code, _, err) = run(
        &[
            "user", "add", "w3", "--role", "admin", "--scope", "district",
        ],
        data,
        "short\n",
    );
    assert_eq!(code, 1);
    assert!(err.contains("at least 8"), "{err}");

    // A good CSV: dry run first, then for real, then again (nothing changes).
    let (_, buildings) = fixtures::district(DistrictShape::SMALL);
    let csv_path = data.join("base.csv");
    let mut f = std::fs::File::create(&csv_path).expect("create");
    gridwalk_server::import::write_csv(&mut f, &buildings).expect("write");
    drop(f);
    let csv = csv_path.to_str().expect("path");
    let (code, out, err) = run(&["import", csv, "--dry-run"], data, "");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("dry run: 144 buildings: 144 new"), "{out}");
    let (code, out, _) = run(&["import", csv], data, "");
    assert_eq!(code, 0);
    assert!(
        out.starts_with("144 buildings: 144 new, 0 updated (0 reassigned), 0 unchanged"),
        "{out}"
    );
    let (_, out, _) = run(&["import", csv], data, "");
    assert!(
        out.starts_with("144 buildings: 0 new, 0 updated (0 reassigned), 144 unchanged"),
        "{out}"
    );

    // A CSV with three bad rows among good ones: each reported by line, nothing imported.
    let mut text = std::fs::read_to_string(&csv_path).expect("read");
    text = text.replace(",Bao'an Block 5,", ",,");
    let lines: Vec<&str> = text.lines().collect();
    let mut bad: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    bad[9] = bad[9].replacen("440306", "44O306", 1);
    // The first building again, at the end of the file.
    bad.push(lines[1].replace("Block 1,", "Block 1 bis,"));
    let bad_path = data.join("bad.csv");
    std::fs::write(&bad_path, bad.join("\n")).expect("write");
    let (code, _, err) = run(&["import", bad_path.to_str().expect("p")], data, "");
    assert_eq!(code, 1);
    assert!(err.contains("bad.csv: line 6: 'address' is empty"), "{err}");
    assert!(
        err.contains("bad.csv: line 10: building code must contain only ASCII digits"),
        "{err}"
    );
    assert!(
        err.contains(
            "bad.csv: line 146: building 4403060000000000000000001 already appears on line 2"
        ),
        "{err}"
    );
    assert!(err.contains("3 bad rows, nothing imported"), "{err}");
    let (_, out, _) = run(&["import", csv, "--dry-run"], data, "");
    assert!(
        out.contains("144 unchanged"),
        "no building of the bad file was imported: {out}"
    );

    // GeoJSON with an error on a known line.
    let geo = data.join("base.geojson");
    std::fs::write(
        &geo,
        "{\"type\": \"FeatureCollection\", \"features\": [\n{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": [113.9, 22.6]}, \"properties\": {\"code\": \"4403060000000000000000777\", \"address\": \"x\", \"street\": \"S01\", \"community\": \"S01C01\", \"grid\": \"S01C01G001\", \"floors\": 0, \"units\": 3, \"usage\": \"residential\", \"owner_name\": \"o\", \"owner_phone\": \"1\"}}\n]}",
    )
    .expect("write");
    let (code, _, err) = run(&["import", geo.to_str().expect("p")], data, "");
    assert_eq!(code, 1);
    assert!(err.contains("line 2: 'floors' must be at least 1"), "{err}");
}

#[test]
fn demo_serves_a_login_and_a_pull() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = bin()
        .args(["demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let started = Instant::now();
    let mut url = None;
    let mut printed = String::new();
    while let Some(Ok(line)) = lines.next() {
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.strip_prefix("listening on ") {
            url = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "demo did not start: {printed}"
        );
    }
    let url = url.unwrap_or_else(|| panic!("no URL printed: {printed}"));
    for user in [
        "demo-worker",
        "demo-officer",
        "demo-supervisor",
        "demo-admin",
    ] {
        assert!(printed.contains(user), "{printed}");
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let login: serde_json::Value = client
            .post(format!("{url}/v1/auth/login"))
            .json(&serde_json::json!({"username": "demo-worker", "password": "gridwalk-demo", "device_id": "demo-phone"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        let token = login["token"].as_str().expect("token");
        let pull: serde_json::Value = client
            .get(format!("{url}/v1/sync/pull"))
            .bearer_auth(token)
            .send()
            .await
            .expect("pull")
            .json()
            .await
            .expect("json");
        assert_eq!(pull["changes"].as_array().expect("changes").len(), 12);
    });
    // SIGTERM: a graceful stop with exit code 0.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "{exit:?}");
}
