//! The Webhooks page over HTTP: an endpoint aimed at a private, loopback or link-local
//! address is refused with a clear 4xx and nothing registered (SSRF); bad input gets a
//! 4xx; a public target is registered with a secret shown once; disable, resend and
//! remove work only on the account's own endpoints.

use crate::app::spawn_app;
use crate::both_backends;

both_backends!(async fn private_targets_are_refused_without_the_allow_list(db: TestDb) {
    let app = spawn_app(db).await;
    let mut admin = app.admin().await;
    for url in ["http://10.0.0.1/", "http://localhost/", "http://127.0.0.1:8080/x", "https://169.254.169.254/latest", "http://[::1]/", "http://192.168.1.5/"] {
        let r = admin.post("/webhooks", &[("url", url), ("events", "contact.deleted")]).await;
        assert!((400..500).contains(&r.status), "{url}: {}", r.status);
        r.assert_contains("may not be sent to").assert_contains("WEBHOOK_ALLOW_HOSTS");
    }
    for (url, events, says) in [
        ("ftp://93.184.216.34/", "contact.deleted", "must start with https:// or http://"),
        ("https://u:p@93.184.216.34/", "contact.deleted", "user name or password"),
        ("https://93.184.216.34/", "contact.exploded", "no webhook event"),
        ("https://93.184.216.34/", "", "at least one event"),
        ("", "contact.deleted", "Enter the URL"),
    ] {
        let r = admin.post("/webhooks", &[("url", url), ("events", events)]).await;
        r.assert_status(400).assert_contains(says);
    }
    assert_eq!(app.f.raw.count("webhook_endpoints", "1 = 1", &[]).await, 0, "nothing registered");

    let r = admin.post("/webhooks", &[("url", "https://93.184.216.34/in"), ("events", "contact.purged")]).await;
    r.assert_status(200).assert_contains("whsec_");
    let id = app.f.raw.i64("select id from webhook_endpoints", &[]).await;
    admin.get("/webhooks").await.assert_status(200).assert_contains("https://93.184.216.34/in").assert_not_contains("whsec_");

    // another account's admin can neither see nor change it
    let mut b = app.admin_b().await;
    b.get("/webhooks").await.assert_status(200).assert_not_contains("93.184.216.34");
    b.get(&format!("/webhooks/{id}")).await.assert_status(404);
    b.post(&format!("/webhooks/{id}/status"), &[("enabled", "false")]).await.assert_status(404);
    b.post(&format!("/webhooks/{id}/delete"), &[]).await.assert_status(404);
    assert_eq!(app.f.raw.count("webhook_endpoints", "disabled_at is null", &[]).await, 1);

    admin.post(&format!("/webhooks/{id}/status"), &[("enabled", "maybe")]).await.assert_status(400);
    admin.post(&format!("/webhooks/{id}/status"), &[("enabled", "false")]).await.assert_see_other("/webhooks");
    assert_eq!(app.f.raw.count("webhook_endpoints", "disabled_at is not null", &[]).await, 1);
    admin.get("/webhooks/abc").await.assert_status(404);
    admin.post(&format!("/webhooks/{id}/deliveries/999999/resend"), &[]).await.assert_status(404);
    admin.post(&format!("/webhooks/{id}/delete"), &[]).await.assert_see_other("/webhooks");
    assert_eq!(app.f.raw.count("webhook_endpoints", "1 = 1", &[]).await, 0);
});
