//! Webhooks, black box: a receiver on 127.0.0.1 (allowed through `WEBHOOK_ALLOW_HOSTS`)
//! refuses the first attempts (500, or a closed connection), the server is killed with
//! SIGKILL in the middle of a background deletion and started again, and still every
//! event of the outbox arrives, accepted exactly once by its `Webhook-Id`, with a valid
//! signature; the `contact.deleted` events hold each deleted contact exactly once.
//! With two servers on one PostgreSQL database each event is delivered once.

use crate::harness::*;
use crate::support::hooks::{listen, read_request, HookRequest};
use crate::support::TestDb;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// A tiny HTTP receiver: refuses while `accepting` is false (every other request with
/// a 500, the rest by closing the connection), then answers 204 and records the request.
#[derive(Clone, Default)]
struct Receiver {
    accepting: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    accepted: Arc<Mutex<Vec<HookRequest>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        let me = self.clone();
        listen(move |stream| {
            let me = me.clone();
            async move { me.serve(stream).await }
        })
        .await
    }

    async fn serve(&self, mut stream: tokio::net::TcpStream) {
        let Some(request) = read_request(&mut stream, &mut Vec::new()).await else { return };
        if !self.accepting.load(Ordering::SeqCst) {
            let n = self.refused.fetch_add(1, Ordering::SeqCst);
            if n.is_multiple_of(2) {
                let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            }
            return;
        }
        self.accepted.lock().unwrap().push(request);
        let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await;
    }

    fn accepted(&self) -> Vec<HookRequest> {
        self.accepted.lock().unwrap().clone()
    }
}

/// Registers the receiver on the Webhooks page; returns the secret shown once.
async fn register(admin: &mut Client, url: &str) -> String {
    let page = admin.get("/webhooks").await.body;
    assert!(page.contains("Register an endpoint"), "the Webhooks page: {page}");
    let r = admin.post("/webhooks", &[("url", url), ("events", "contact.deleted"), ("events", "deletion.finished")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let start = r.body.find("whsec_").expect("the secret is shown once");
    let secret: String = r.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    assert_eq!(secret.len(), "whsec_".len() + 64, "{secret}");
    assert!(!admin.get("/webhooks").await.body.contains(&secret), "the secret is not shown again");
    secret
}

/// Waits until no delivery is left pending.
async fn wait_all_delivered(crm: &Crm) {
    eventually("every webhook delivery to be delivered", Duration::from_millis(200), || async {
        let open = crm.raw.count("webhook_deliveries", "state <> 'delivered'", &[]).await;
        (open == 0).then_some(())
    })
    .await
}

/// Every event of the outbox was accepted exactly once, signed with `secret`; returns the
/// events by id with their bodies.
async fn assert_each_event_once(crm: &Crm, receiver: &Receiver, secret: &str) -> BTreeMap<String, serde_json::Value> {
    let accepted = receiver.accepted();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    let mut events = BTreeMap::new();
    for a in &accepted {
        let id = a.id();
        assert!(a.signed_with(secret), "a valid signature on {id}");
        let body = a.json().expect("a JSON body");
        assert_eq!(body["id"], id.as_str(), "the body names its Webhook-Id");
        *per_id.entry(id.clone()).or_default() += 1;
        events.insert(id, body);
    }
    let twice: Vec<(&String, &usize)> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events accepted more than once: {twice:?}");
    let outbox: Vec<(String,)> = crm.raw.all("select event_id from webhook_events", &[]).await;
    let outbox: HashSet<String> = outbox.into_iter().map(|r| r.0).collect();
    let got: HashSet<String> = per_id.into_keys().collect();
    assert_eq!(got, outbox, "every event of the outbox arrived, and nothing else");
    events
}

/// The `contact.deleted` events hold every contact of `batch` exactly once.
fn assert_chunks_cover(events: &BTreeMap<String, serde_json::Value>, batch_id: i64, expected: i64) {
    let mut seen = HashSet::new();
    let mut finished = 0;
    for body in events.values() {
        if body["data"]["batch_id"] != batch_id {
            continue;
        }
        match body["type"].as_str() {
            Some("contact.deleted") => {
                for id in body["data"]["contact_ids"].as_array().unwrap() {
                    assert!(seen.insert(id.as_i64().unwrap()), "contact {id} in two contact.deleted events");
                }
            }
            Some("deletion.finished") => {
                finished += 1;
                assert_eq!(body["data"]["deleted"], expected);
            }
            other => panic!("unexpected event type {other:?}"),
        }
    }
    assert_eq!(seen.len() as i64, expected, "every deleted contact in one contact.deleted event");
    assert_eq!(finished, 1, "one deletion.finished event");
}

async fn receiver_down_then_up_through_a_kill(db: TestDb) {
    let crm = setup(db).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let mut first = server(&crm, "first");
    let mut admin = login(&first, ADMIN).await;
    let secret = register(&mut admin, &url).await;

    let r = admin.delete_all(false).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (job, batch_id) = latest_job(&crm.raw).await;
    wait_mid_job(&crm.raw, batch_id).await;
    eventually("the receiver to refuse a few attempts", Duration::from_millis(20), || async {
        (receiver.refused.load(Ordering::SeqCst) >= 4).then_some(())
    })
    .await;
    first.kill();
    assert_eq!(batch(&crm.raw, batch_id).await.state, "running", "the server was killed in the middle of the deletion");
    let refused_before_restart = receiver.refused.load(Ordering::SeqCst);

    let second = server(&crm, "second");
    // still down for a moment after the restart, then up
    tokio::time::sleep(Duration::from_millis(500)).await;
    receiver.accepting.store(true, Ordering::SeqCst);
    wait_job_done(&crm.raw, job).await;
    wait_all_delivered(&crm).await;

    let events = assert_each_event_once(&crm, &receiver, &secret).await;
    assert_chunks_cover(&events, batch_id, CONTACTS);
    assert!(refused_before_restart >= 4, "the receiver was down for the first attempts");
    let retried = crm.raw.count("webhook_deliveries", "attempts > 1", &[]).await;
    assert!(retried > 0, "some deliveries were retried");
    second.assert_no_errors();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_event_arrives_once_after_refusals_and_a_kill() {
    receiver_down_then_up_through_a_kill(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_event_arrives_once_after_refusals_and_a_kill() {
    let Some(db) = TestDb::postgres(concat!(module_path!(), "::kill")).await else { return };
    receiver_down_then_up_through_a_kill(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_servers_deliver_each_event_once() {
    let Some(db) = TestDb::postgres(concat!(module_path!(), "::two_servers")).await else { return };
    let crm = setup(db).await;
    let receiver = Receiver::default();
    receiver.accepting.store(true, Ordering::SeqCst);
    let url = receiver.start().await;
    let servers = [server(&crm, "a"), server(&crm, "b")];
    let mut admin = login(&servers[0], ADMIN).await;
    let secret = register(&mut admin, &url).await;
    let r = admin.delete_all(false).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (job, batch_id) = latest_job(&crm.raw).await;
    wait_job_done(&crm.raw, job).await;
    wait_all_delivered(&crm).await;

    let events = assert_each_event_once(&crm, &receiver, &secret).await;
    assert_chunks_cover(&events, batch_id, CONTACTS);
    for s in &servers {
        s.assert_no_errors();
    }
}
