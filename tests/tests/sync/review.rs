//! The supervisor's review loop end to end over HTTP: the phone syncs its reports, a supervisor
//! sends one back through the review API, the phone's next pull shows the comment, the worker
//! records a correction (`corrects` set), syncs, and the review queue shows the two linked.

use gridwalk_core::protocol::ReviewDecision;
use gridwalk_server::fixtures;
use gridwalk_tests::sync_harness::*;
use serde_json::{Value, json};

struct Desk {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Desk {
    async fn login(base: &str, user: &str) -> Self {
        // reqwest carries `rustls-no-provider` in this workspace: install ring first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().build().expect("http client");
        let resp = http
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"username": user, "password": PASSWORD, "device_id": "desk-1"}))
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status(), reqwest::StatusCode::OK);
        let body: Value = resp.json().await.expect("json");
        Desk {
            http,
            base: base.to_owned(),
            token: body["token"].as_str().expect("token").to_owned(),
        }
    }

    async fn queue(&self) -> Vec<Value> {
        let resp = self
            .http
            .get(format!("{}/v1/review/queue", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("queue");
        assert_eq!(resp.status(), reqwest::StatusCode::OK);
        let body: Value = resp.json().await.expect("json");
        body["items"].as_array().expect("items").clone()
    }

    async fn decide(&self, record: &str, decision: &str, comment: &str) -> Value {
        let resp = self
            .http
            .post(format!("{}/v1/review/{record}", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"decision": decision, "comment": comment}))
            .send()
            .await
            .expect("decide");
        assert_eq!(resp.status(), reqwest::StatusCode::OK);
        resp.json().await.expect("json")
    }
}

fn find<'a>(items: &'a [Value], record: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["record"] == record)
        .unwrap_or_else(|| panic!("{record} is not in the queue"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_send_back_over_http_reaches_the_phone_and_the_correction_links() {
    let server = TestServer::start(|_| {}).await.expect("server");
    let phone = Phone::for_server(&server.url()).expect("phone");
    phone.login(W1).await.expect("login");
    let recorded = phone
        .record_inspections(W1, &w1_codes(), 2, |_| vec![])
        .expect("record");
    let (original, other) = (&recorded[0], &recorded[1]);
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!(r.pushed.accepted, 2);

    let desk = Desk::login(&server.url(), SUPERVISOR).await;
    let items = desk.queue().await;
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["state"] == "pending"));

    let comment = "消防通道照片缺失 — add the escape-route photo";
    let sent = desk
        .decide(&original.id.to_string(), "sent_back", comment)
        .await;
    assert_eq!(sent["state"], "sent_back");

    // The phone's next pull shows it, with the supervisor's words.
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!(r.pulled.reviews, 1);
    let open = phone.archive.sent_back_uncorrected().expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].record_id, original.id);
    assert_eq!(open[0].comment, comment);
    assert_eq!(open[0].reviewer.as_str(), SUPERVISOR);

    // The worker records the correction on the phone and syncs it.
    let mut correction = fixtures::inspection(&original.building, W1, Vec::new());
    correction.corrects = Some(original.id);
    phone
        .archive
        .record_inspection(&correction)
        .expect("correction");
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!(r.pushed.accepted, 1);

    // The queue shows the correction linked to the report it replaces.
    let items = desk.queue().await;
    assert_eq!(items.len(), 3);
    let (o, c) = (
        find(&items, &original.id.to_string()),
        find(&items, &correction.id.to_string()),
    );
    assert_eq!(o["state"], "resubmitted");
    assert_eq!(o["corrected_by"], correction.id.to_string());
    assert_eq!(o["decision"]["comment"], comment);
    assert_eq!(c["state"], "pending");
    assert_eq!(c["corrects"], original.id.to_string());
    assert_eq!(c["original"], original.id.to_string());
    assert_eq!(find(&items, &other.id.to_string())["state"], "pending");

    // Approving the correction reaches the phone too, which links the two decisions.
    let ok = desk
        .decide(&correction.id.to_string(), "approved", "")
        .await;
    assert_eq!(ok["state"], "approved");
    let r = phone.client.sync_now().await.expect("sync");
    assert_eq!(r.pulled.reviews, 1);
    let first = phone
        .archive
        .review_of(original.id)
        .expect("read")
        .expect("review");
    assert_eq!(first.corrected_by, Some(correction.id));
    assert_eq!(
        phone
            .archive
            .review_of(correction.id)
            .expect("read")
            .expect("review")
            .decision,
        ReviewDecision::Approved
    );
}
