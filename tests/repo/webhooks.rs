//! Webhook events are an outbox: each is written in the transaction of the change it
//! reports, with one delivery per enabled endpoint of the account that receives its
//! type; a change that rolls back leaves none, and a purge's events carry ids only.

use crate::support::{create_account, Fixture, Raw, TestAccount};
use contacts_admin::repo::Backend;
use crate::{args, both_backends, confirm, delete_ids, sel};
use chrono::Duration;
use contacts_admin::domain::{Actor, BatchId, ContactId, WebhookEvents, WebhookUrl};
use contacts_admin::repo::Repo;
use serde_json::Value;

async fn endpoint(repo: &Repo, acc: &TestAccount, events: &[&str]) -> i64 {
    let url = WebhookUrl::parse("https://hooks.example.com/in").unwrap();
    repo.create_webhook_endpoint(acc.id, acc.admin, &url, &WebhookEvents::parse(events.iter().copied()).unwrap(), "s3cret")
        .await
        .expect("register an endpoint")
}

/// The account's events of `kind` in order: (row id, body as sent).
async fn events(raw: &Raw, kind: &str) -> Vec<(i64, Value)> {
    raw.all::<(i64, String)>("select id, payload from webhook_events where type = $1 order by id", args![kind])
        .await
        .into_iter()
        .map(|(id, p)| (id, serde_json::from_str(&p).expect("a JSON body")))
        .collect()
}

fn ids_of(body: &Value) -> Vec<i64> {
    body["data"]["contact_ids"].as_array().expect("contact_ids").iter().map(|v| v.as_i64().unwrap()).collect()
}

/// The endpoints an event is to be delivered to.
async fn delivered_to(raw: &Raw, event: i64) -> Vec<i64> {
    raw.ids("select endpoint_id from webhook_deliveries where event_id = $1 and state = 'pending' order by endpoint_id", args![event]).await
}

both_backends!(async fn each_chunk_writes_one_event_with_exactly_its_contacts(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = create_account(&f.repo, "Globex").await;
    let deleted_a = endpoint(&f.repo, &f.acc, &["contact.deleted"]).await;
    let deleted_b = endpoint(&f.repo, &f.acc, &["contact.deleted", "deletion.finished"]).await;
    let restored = endpoint(&f.repo, &f.acc, &["contact.restored"]).await;
    let off = endpoint(&f.repo, &f.acc, &["contact.deleted", "deletion.finished", "contact.restored"]).await;
    f.repo.set_webhook_endpoint_enabled(f.acc.id, f.acc.admin, off, false).await.unwrap();
    let foreign = endpoint(&f.repo, &other, &["contact.deleted"]).await;

    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(f.contact(&format!("C{i}"), None, &[]).await);
    }
    // deleted earlier by another deletion: not this one's to report
    delete_ids(&f, &ids[2..3]).await;
    let first: Vec<(i64, Value)> = events(&f.raw, "contact.deleted").await;
    assert_eq!(first.len(), 1);
    assert_eq!(ids_of(&first[0].1), vec![ids[2].0]);

    let batch = f.repo.start_deletion(f.acc.id, Actor::ui(f.acc.admin), &sel(&ids), None, confirm()).await.unwrap();
    let mut chunks = 0;
    loop {
        let step = f.repo.delete_next_chunk(f.acc.id, batch, 2).await.unwrap();
        if step.done {
            break;
        }
        chunks += 1;
    }
    assert_eq!(chunks, 3);
    let all = events(&f.raw, "contact.deleted").await;
    let of_batch: Vec<&(i64, Value)> = all.iter().filter(|(_, b)| b["data"]["batch_id"] == batch.0).collect();
    assert_eq!(of_batch.len(), 3, "one event per chunk that deleted something: {all:?}");
    let chunk_ids: Vec<Vec<i64>> = of_batch.iter().map(|(_, b)| ids_of(b)).collect();
    assert_eq!(chunk_ids, vec![vec![ids[0].0, ids[1].0], vec![ids[3].0, ids[4].0], vec![ids[5].0]]);
    for (row, body) in &of_batch {
        assert_eq!(body["type"], "contact.deleted");
        assert_eq!(body["account_id"], f.acc.id.0);
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(delivered_to(&f.raw, *row).await, vec![deleted_a, deleted_b], "the two enabled endpoints subscribed");
    }
    let event_ids: std::collections::HashSet<String> =
        all.iter().map(|(_, b)| b["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(event_ids.len(), all.len(), "event ids are unique");

    let finished = events(&f.raw, "deletion.finished").await;
    let finished: Vec<&(i64, Value)> = finished.iter().filter(|(_, b)| b["data"]["batch_id"] == batch.0).collect();
    assert_eq!(finished.len(), 1);
    assert_eq!((finished[0].1["data"]["deleted"].as_i64(), finished[0].1["data"]["state"].as_str()), (Some(5), Some("done")));
    assert_eq!(delivered_to(&f.raw, finished[0].0).await, vec![deleted_b]);

    let report = f.repo.restore_batch(f.acc.id, Actor::ui(f.acc.admin), batch).await.unwrap();
    assert_eq!(report.restored, 5);
    let back = events(&f.raw, "contact.restored").await;
    assert_eq!(back.len(), 1);
    assert_eq!(ids_of(&back[0].1), vec![ids[0].0, ids[1].0, ids[3].0, ids[4].0, ids[5].0]);
    assert_eq!(back[0].1["data"]["batch_id"], batch.0);
    assert_eq!(delivered_to(&f.raw, back[0].0).await, vec![restored]);

    assert_eq!(f.raw.count("webhook_deliveries", "endpoint_id in ($1, $2)", args![off, foreign]).await, 0);
    // the other account has an endpoint but no change: no event of its own
    assert_eq!(f.raw.count("webhook_events", "account_id = $1", args![other.id]).await, 0);
});

both_backends!(async fn no_endpoint_no_event(db: TestDb) {
    let f = Fixture::new(db).await;
    let a = f.contact("A", None, &[]).await;
    delete_ids(&f, &[a]).await;
    // an endpoint for another event type only
    endpoint(&f.repo, &f.acc, &["contact.purged"]).await;
    let b = f.contact("B", None, &[]).await;
    delete_ids(&f, &[b]).await;
    assert_eq!(f.raw.count("webhook_events", "1 = 1", &[]).await, 0);
    assert_eq!(f.raw.count("webhook_deliveries", "1 = 1", &[]).await, 0);
});

/// Makes the database refuse to move any deletion's cursor: the last statement of a
/// chunk's transaction fails, after the chunk's event was written.
async fn refuse_advancing(raw: &Raw, backend: Backend) {
    match backend {
        Backend::Sqlite => {
            raw.exec(
                "create trigger refuse_advance before update of cursor_id on deletion_batches
                 begin select raise(abort, 'the disk is full'); end",
                &[],
            )
            .await;
        }
        Backend::Postgres => {
            raw.exec(
                "create function refuse_advance() returns trigger language plpgsql as
                 $$ begin raise exception 'the disk is full'; end $$",
                &[],
            )
            .await;
            raw.exec(
                "create trigger refuse_advance before update of cursor_id on deletion_batches
                 for each row execute function refuse_advance()",
                &[],
            )
            .await;
        }
    }
}

both_backends!(async fn a_chunk_that_rolls_back_leaves_no_event(db: TestDb) {
    let f = Fixture::new(db).await;
    endpoint(&f.repo, &f.acc, &["contact.deleted", "deletion.finished"]).await;
    let ids = vec![f.contact("A", None, &[]).await, f.contact("B", None, &[]).await];
    let batch = f.repo.start_deletion(f.acc.id, Actor::ui(f.acc.admin), &sel(&ids), None, confirm()).await.unwrap();
    refuse_advancing(&f.raw, f.db.backend).await;

    let err = f.repo.delete_next_chunk(f.acc.id, batch, 10).await.expect_err("the chunk fails");
    assert!(err.to_string().contains("disk is full"), "{err}");
    assert_eq!(f.raw.count("contacts", "deleted_at is not null", &[]).await, 0);
    assert_eq!(f.raw.count("webhook_events", "1 = 1", &[]).await, 0, "the event rolled back with its chunk");
    assert_eq!(f.raw.count("webhook_deliveries", "1 = 1", &[]).await, 0);

    let drop = match f.db.backend {
        Backend::Sqlite => "drop trigger refuse_advance",
        Backend::Postgres => "drop trigger refuse_advance on deletion_batches",
    };
    f.raw.exec(drop, &[]).await;
    assert_eq!(f.repo.delete_next_chunk(f.acc.id, batch, 10).await.unwrap().deleted, 2);
    let deleted = events(&f.raw, "contact.deleted").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(ids_of(&deleted[0].1), vec![ids[0].0, ids[1].0]);
    assert_eq!(f.raw.count("webhook_deliveries", "1 = 1", &[]).await, 1);
});

both_backends!(async fn purge_and_erase_events_carry_ids_and_batch_only(db: TestDb) {
    let f = Fixture::new(db).await;
    endpoint(&f.repo, &f.acc, &["contact.purged"]).await;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("Zq{}", &token[..10]);
    let email = format!("p-{}@privacy.test", &token[..10]);
    let erased = f.contact(&name, Some(&email), &[]).await;
    let purged: Vec<ContactId> = vec![f.contact(&format!("{name}b"), Some(&format!("b{email}")), &[]).await, f.contact("Plain", None, &[]).await];
    let erase_batch = delete_ids(&f, &[erased]).await.batch;
    let purge_batch = delete_ids(&f, &purged).await.batch;

    let report = f.repo.erase_contacts(f.acc.id, Actor::ui(f.acc.admin), &[erased], confirm()).await.unwrap();
    assert_eq!(report.erased, 1);
    f.advance(Duration::days(61));
    assert_eq!(f.repo.purge_expired().await.unwrap().purged, 2);

    let all = events(&f.raw, "contact.purged").await;
    assert_eq!(all.len(), 2, "{all:?}");
    let batch_of = |b: &Value| BatchId(b["data"]["batch_id"].as_i64().unwrap());
    assert_eq!((batch_of(&all[0].1), ids_of(&all[0].1)), (erase_batch, vec![erased.0]));
    let mut want: Vec<i64> = purged.iter().map(|c| c.0).collect();
    want.sort_unstable();
    assert_eq!((batch_of(&all[1].1), ids_of(&all[1].1)), (purge_batch, want));
    let texts: Vec<String> = f.raw.all::<(String,)>("select payload from webhook_events", &[]).await.into_iter().map(|r| r.0).collect();
    for text in &texts {
        assert!(!text.contains(&token[..10]), "no name or email in {text}");
        assert!(!text.to_lowercase().contains("plain"), "no name in {text}");
    }
    let keys: Vec<String> = all[1].1["data"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, vec!["batch_id".to_string(), "contact_ids".to_string()]);
});

both_backends!(async fn a_claimed_delivery_is_leased_to_one_sender_and_resend_queues_it_again(db: TestDb) {
    use contacts_admin::repo::DeliveryOutcome;
    let f = Fixture::new(db).await;
    let hook = endpoint(&f.repo, &f.acc, &["contact.deleted"]).await;
    let a = f.contact("A", None, &[]).await;
    delete_ids(&f, &[a]).await;

    let claimed = f.repo.claim_webhook_deliveries("one", 10, 60_000).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let d = &claimed[0];
    assert_eq!((d.url.as_str(), d.secret.as_str(), d.attempts), ("https://hooks.example.com/in", "s3cret", 0));
    let body: Value = serde_json::from_str(&d.payload).unwrap();
    assert_eq!(body["id"], d.event_id.as_str());
    // leased: another sender gets nothing, and cannot record an outcome for it
    assert!(f.another_repo().await.claim_webhook_deliveries("two", 10, 60_000).await.unwrap().is_empty());
    assert!(!f.repo.finish_webhook_delivery(d.id, "two", &DeliveryOutcome::Delivered { status: 200 }).await.unwrap());

    // refused: back in the queue at the retry time, not before
    let retry_at = f.now() + Duration::seconds(30);
    let refused = DeliveryOutcome::Refused { status: Some(500), error: "The receiver answered 500.".into(), retry_at: Some(retry_at) };
    assert!(f.repo.finish_webhook_delivery(d.id, "one", &refused).await.unwrap());
    assert!(f.repo.claim_webhook_deliveries("two", 10, 60_000).await.unwrap().is_empty());
    f.advance(Duration::seconds(31));
    let again = f.repo.claim_webhook_deliveries("two", 10, 60_000).await.unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1));
    // a lease that ran out passes to another sender
    f.advance(Duration::seconds(61));
    let taken = f.repo.claim_webhook_deliveries("three", 10, 60_000).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert!(!f.repo.finish_webhook_delivery(d.id, "two", &DeliveryOutcome::Delivered { status: 200 }).await.unwrap());
    let gave_up = DeliveryOutcome::Refused { status: None, error: "connection refused".into(), retry_at: None };
    assert!(f.repo.finish_webhook_delivery(d.id, "three", &gave_up).await.unwrap());
    let log = f.repo.webhook_deliveries(f.acc.id, hook, 10).await.unwrap();
    assert_eq!((log[0].state.as_str(), log[0].attempts, log[0].last_error.as_deref()), ("failed", 2, Some("connection refused")));

    // Resend: only the account's own delivery of that endpoint, then pending again
    let other = create_account(&f.repo, "Globex").await;
    assert!(f.repo.resend_webhook_delivery(other.id, other.admin, hook, d.id).await.is_err());
    assert!(f.repo.resend_webhook_delivery(f.acc.id, f.acc.user, hook, d.id).await.is_err(), "a regular user may not resend");
    f.repo.resend_webhook_delivery(f.acc.id, f.acc.admin, hook, d.id).await.unwrap();
    let resent = f.repo.claim_webhook_deliveries("four", 10, 60_000).await.unwrap();
    assert_eq!((resent.len(), resent[0].event_id.as_str()), (1, d.event_id.as_str()), "the same event id again");
    assert!(f.repo.finish_webhook_delivery(d.id, "four", &DeliveryOutcome::Delivered { status: 204 }).await.unwrap());
    let log = f.repo.webhook_deliveries(f.acc.id, hook, 10).await.unwrap();
    assert_eq!((log[0].state.as_str(), log[0].last_status), ("delivered", Some(204)));

    // a disabled endpoint's pending deliveries wait until it is enabled again
    delete_ids(&f, &[f.contact("B", None, &[]).await]).await;
    f.repo.set_webhook_endpoint_enabled(f.acc.id, f.acc.admin, hook, false).await.unwrap();
    assert!(f.repo.claim_webhook_deliveries("five", 10, 60_000).await.unwrap().is_empty());
    f.repo.set_webhook_endpoint_enabled(f.acc.id, f.acc.admin, hook, true).await.unwrap();
    assert_eq!(f.repo.claim_webhook_deliveries("five", 10, 60_000).await.unwrap().len(), 1);
});

async fn endpoint_at(f: &Fixture, url: &str, events: &[&str]) -> i64 {
    let events = WebhookEvents::parse(events.iter().copied()).unwrap();
    f.repo.create_webhook_endpoint(f.acc.id, f.acc.admin, &WebhookUrl::parse(url).unwrap(), &events, "s3cret").await.expect("register an endpoint")
}

/// The row id of the latest event.
async fn last_event(raw: &Raw) -> i64 {
    raw.i64("select max(id) from webhook_events", &[]).await
}

/// Sends every due delivery once: `outcome` says, by the endpoint's URL, what the
/// attempt came to.
async fn settle(f: &Fixture, outcome: impl Fn(&str) -> contacts_admin::repo::DeliveryOutcome) {
    for d in f.repo.claim_webhook_deliveries("cleaner", 100, 60_000).await.unwrap() {
        assert!(f.repo.finish_webhook_delivery(d.id, "cleaner", &outcome(&d.url)).await.unwrap());
    }
}

both_backends!(async fn old_finished_deliveries_and_their_events_are_deleted_in_batches(db: TestDb) {
    use contacts_admin::repo::{DeliveryOutcome, WebhookCleanup};
    let f = Fixture::new(db).await;
    endpoint_at(&f, "https://a.example.com/in", &["contact.deleted"]).await;
    let b = endpoint_at(&f, "https://b.example.com/in", &["contact.deleted"]).await;
    let restored_hook = endpoint_at(&f, "https://c.example.com/in", &["contact.restored"]).await;
    let delivered = || DeliveryOutcome::Delivered { status: 204 };
    let failed = || DeliveryOutcome::Refused { status: Some(500), error: "The receiver answered 500.".into(), retry_at: None };
    let later = |f: &Fixture| DeliveryOutcome::Refused { status: None, error: "refused".into(), retry_at: Some(f.now() + Duration::days(365)) };

    // 31 days before the clean-up: delivered to a, failed at b → both go, and the event
    let c1 = f.contact("Old1", None, &[]).await;
    delete_ids(&f, &[c1]).await;
    let e1 = last_event(&f.raw).await;
    settle(&f, |url| if url.contains("a.example") { delivered() } else { failed() }).await;
    // delivered to a, still pending at b → a's goes; the event stays with b's
    let c2 = f.contact("Old2", None, &[]).await;
    delete_ids(&f, &[c2]).await;
    let e2 = last_event(&f.raw).await;
    settle(&f, |url| if url.contains("a.example") { delivered() } else { later(&f) }).await;
    // both delivered
    let c3 = f.contact("Old3", None, &[]).await;
    delete_ids(&f, &[c3]).await;
    let e3 = last_event(&f.raw).await;
    settle(&f, |_| delivered()).await;
    // restored: one pending delivery to c, then c removed with its log → an event with none
    f.repo.restore_contacts(f.acc.id, Actor::ui(f.acc.admin), &[c3]).await.unwrap();
    let e4 = last_event(&f.raw).await;
    assert_eq!(f.raw.count("webhook_deliveries", "event_id = $1", args![e4]).await, 1);
    f.repo.delete_webhook_endpoint(f.acc.id, f.acc.admin, restored_hook).await.unwrap();
    // two more old, delivered ones, so that the clean-up takes several steps
    let mut old_delivered = Vec::new();
    for i in 0..2 {
        let c = f.contact(&format!("Old{}", 5 + i), None, &[]).await;
        delete_ids(&f, &[c]).await;
        old_delivered.push(last_event(&f.raw).await);
        settle(&f, |_| delivered()).await;
    }

    // 29 days before the clean-up: kept although finished
    f.advance(Duration::days(2));
    let c = f.contact("Young", None, &[]).await;
    delete_ids(&f, &[c]).await;
    let young = last_event(&f.raw).await;
    settle(&f, |url| if url.contains("a.example") { delivered() } else { failed() }).await;

    f.advance(Duration::days(29));
    // today: kept
    let c = f.contact("New", None, &[]).await;
    delete_ids(&f, &[c]).await;
    let new = last_event(&f.raw).await;
    settle(&f, |_| delivered()).await;
    let c = f.contact("NewPending", None, &[]).await;
    delete_ids(&f, &[c]).await;
    let new_pending = last_event(&f.raw).await;
    assert_eq!(f.raw.count("webhook_deliveries", "event_id = $1 and state = 'pending'", args![new_pending]).await, 2);

    let before = f.raw.count("webhook_deliveries", "1 = 1", &[]).await;
    let gone = f.repo.delete_old_webhooks(2).await.unwrap();
    // e1: 2, e2: 1 (a's), e3: 2, the two others: 4
    assert_eq!(gone, WebhookCleanup { deliveries: 9, events: 5 }, "e1, e3, e4 and the two others");
    assert_eq!(f.raw.count("webhook_deliveries", "1 = 1", &[]).await, before - 9);
    let left = f.raw.ids("select id from webhook_events order by id", &[]).await;
    assert_eq!(left, vec![e2, young, new, new_pending], "old events without deliveries went: {e1}, {e3}, {e4}, {old_delivered:?}");
    let e2_left: Vec<(String, String)> = f
        .raw
        .all("select d.state, e.url from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where d.event_id = $1", args![e2])
        .await;
    assert_eq!(e2_left, vec![("pending".to_string(), "https://b.example.com/in".to_string())], "the pending delivery stays");
    for (event, n) in [(young, 2), (new, 2), (new_pending, 2)] {
        assert_eq!(f.raw.count("webhook_deliveries", "event_id = $1", args![event]).await, n, "event {event} keeps its deliveries");
    }
    assert_eq!(f.repo.delete_old_webhooks(1_000).await.unwrap(), WebhookCleanup::default(), "nothing more to delete");

    // once its last delivery is finished, the old event goes too; two days on, the young one
    f.advance(Duration::days(2));
    let held = f.raw.i64("select id from webhook_deliveries where event_id = $1", args![e2]).await;
    f.repo.resend_webhook_delivery(f.acc.id, f.acc.admin, b, held).await.unwrap();
    settle(&f, |_| delivered()).await;
    let gone = f.repo.delete_old_webhooks(1_000).await.unwrap();
    assert_eq!(gone, WebhookCleanup { deliveries: 3, events: 2 });
    assert_eq!(f.raw.ids("select id from webhook_events order by id", &[]).await, vec![new, new_pending]);
});
