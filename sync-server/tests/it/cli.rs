//! The `gridwalk-server` binary, run as a user would: migrate, user add, import (CSV and GeoJSON,
//! good and bad, dry run), and the demo server answering a real login and pull.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gridwalk_server::demo;
use gridwalk_server::fixtures::{self, DistrictShape};
use serde_json::{Value, json};

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
    let applied = format!(
        "applied migrations {:?}",
        gridwalk_server::db::sqlite::migration_versions()
    );
    assert!(out.contains(&applied), "{out}");
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
            "grid:G0001",
        ],
        data,
        "long-enough-pw\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created worker w1 (grid:G0001)"), "{out}");
    let (code, _, err) = run(
        &[
            "user",
            "add",
            "w1",
            "--role",
            "worker",
            "--scope",
            "grid:G0001",
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
    let text = std::fs::read_to_string(&csv_path).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    let mut bad: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    // Building 5 (line 6) without its address; building 9 (line 10) with a letter in its code.
    let field = |s: &str| format!(",{s},");
    assert!(bad[5].contains(&field(&buildings[4].address)), "{}", bad[5]);
    bad[5] = bad[5].replacen(&field(&buildings[4].address), ",,", 1);
    bad[9] = bad[9].replacen("440306", "44O306", 1);
    // The first building again, under another address, at the end of the file.
    let first = &buildings[0];
    bad.push(lines[1].replacen(
        &field(&first.address),
        &field(&format!("{} bis", first.address)),
        1,
    ));
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
        err.contains(&format!(
            "bad.csv: line 146: building {} already appears on line 2",
            first.code
        )),
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
        "{\"type\": \"FeatureCollection\", \"features\": [\n{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": [113.9, 22.6]}, \"properties\": {\"code\": \"4403060000000000000000777\", \"address\": \"x\", \"street\": \"S01\", \"community\": \"C001\", \"grid\": \"G0001\", \"floors\": 0, \"units\": 3, \"usage\": \"residential\", \"owner_name\": \"o\", \"owner_phone\": \"1\"}}\n]}",
    )
    .expect("write");
    let (code, _, err) = run(&["import", geo.to_str().expect("p")], data, "");
    assert_eq!(code, 1);
    assert!(err.contains("line 2: 'floors' must be at least 1"), "{err}");
}

/// One printed account line: `  USER password PW ROLE SCOPE`.
#[derive(Debug)]
struct Printed {
    username: String,
    password: String,
    role: String,
    scope: String,
}

fn printed_accounts(printed: &str) -> Vec<Printed> {
    printed
        .lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [username, "password", password, role, scope] => Some(Printed {
                username: username.to_owned(),
                password: password.to_owned(),
                role: role.to_owned(),
                scope: scope.to_owned(),
            }),
            _ => None,
        })
        .collect()
}

/// Every building a login with the printed credentials pulls, following the cursor.
async fn pull_everything(client: &reqwest::Client, url: &str, a: &Printed) -> Vec<Value> {
    let login: Value = client
        .post(format!("{url}/v1/auth/login"))
        .json(&json!({"username": a.username, "password": a.password, "device_id": "demo-phone"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token for {a:?}: {login}"));
    let mut buildings = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut req = client.get(format!("{url}/v1/sync/pull")).bearer_auth(token);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let page: Value = req.send().await.expect("pull").json().await.expect("json");
        let changes = page["changes"].as_array().expect("changes");
        buildings.extend(
            changes
                .iter()
                .filter(|c| c["type"] == "building")
                .map(|c| c["building"].clone()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if page["has_more"] == false {
            return buildings;
        }
    }
    panic!("the pull did not end");
}

#[test]
fn demo_prints_credentials_that_log_in_and_pull_the_generators_district() {
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
    let accounts = printed_accounts(&printed);
    let roles: Vec<&str> = accounts.iter().map(|a| a.role.as_str()).collect();
    assert_eq!(
        roles,
        ["worker", "officer", "supervisor", "admin"],
        "{printed}"
    );

    // What the demo should serve: the generator's small district of the default seed (1).
    let spec = demo::demo_spec(1, false, chrono::Utc::now().date_naive());
    let district = demo::demo_district(&spec).expect("generate");
    assert!(
        printed.contains(&format!("{} buildings", district.buildings.len())),
        "{printed}"
    );
    let first = &district.grids[0];
    let codes = |keep: &dyn Fn(&gridwalk_core::Building) -> bool| -> Vec<String> {
        let mut c: Vec<String> = (district.buildings.iter())
            .filter(|b| keep(b))
            .map(|b| b.code.to_string())
            .collect();
        c.sort();
        c
    };
    let expected = [
        (format!("grid:{}", first.id), codes(&|b| b.grid == first.id)),
        (
            format!("community:{}", first.community),
            codes(&|b| b.community == first.community),
        ),
        (
            format!("street:{}", first.street),
            codes(&|b| b.street == first.street),
        ),
        ("district".to_owned(), codes(&|_| true)),
    ];
    assert!(expected[0].1.len() < expected[1].1.len());

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        // In a workspace build reqwest carries `rustls-no-provider`; install ring before building a client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        for (a, (scope, want)) in accounts.iter().zip(&expected) {
            assert_eq!(&a.scope, scope, "{printed}");
            let pulled = pull_everything(&client, &url, a).await;
            let mut got: Vec<String> = pulled
                .iter()
                .map(|b| b["code"].as_str().expect("code").to_owned())
                .collect();
            got.sort();
            assert_eq!(&got, want, "{} pulls exactly their scope", a.username);
        }
        // The buildings come with the generator's archive state: stars and due dates.
        let admin = pull_everything(&client, &url, &accounts[3]).await;
        let rated = admin.iter().filter(|b| !b["stars"].is_null()).count();
        let want_rated = district.buildings.iter().filter(|b| b.stars.is_some()).count();
        assert_eq!(rated, want_rated);
        assert!(admin.iter().all(|b| !b["next_due_on"].is_null()));
        // A wrong password is refused: the printed one is what works.
        let refused = client
            .post(format!("{url}/v1/auth/login"))
            .json(&json!({"username": accounts[0].username, "password": "not-the-printed-one", "device_id": "x"}))
            .send()
            .await
            .expect("login");
        assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
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
