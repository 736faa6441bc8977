//! API keys in the repository: only a person who is an admin of the account makes or
//! revokes them; a key is found by its hash only while live; its own user never signs
//! in and is never taken for the account's admin; its use is noted at most once a
//! minute; what a key deletes is audited under the key's name through the API.

use crate::support::{create_account, Fixture};
use crate::{args, both_backends};
use chrono::Duration;
use contacts_admin::domain::{Actor, ApiKeyName, ApiKeySecret, DeleteConfirmation, Role, Selection};
use contacts_admin::repo::RepoError;

fn secret(n: u8) -> ApiKeySecret {
    ApiKeySecret::generate(format!("{n:02x}").repeat(32))
}

both_backends!(async fn only_a_person_who_is_an_admin_of_the_account_makes_and_revokes_keys(db: TestDb) {
    let f = Fixture::new(db).await;
    let b = create_account(&f.repo, "Bravo").await;
    let name = ApiKeyName::parse("Zapier").unwrap();
    let a = &f.acc;
    assert!(matches!(f.repo.create_api_key(a.id, a.user, &name, Role::Admin, &secret(1)).await, Err(RepoError::Forbidden(_))));
    assert!(matches!(f.repo.create_api_key(a.id, b.admin, &name, Role::Admin, &secret(1)).await, Err(RepoError::Forbidden(_))));
    let id = f.repo.create_api_key(a.id, a.admin, &name, Role::Admin, &secret(1)).await.unwrap();
    // two live keys cannot share a name
    assert!(matches!(f.repo.create_api_key(a.id, a.admin, &name, Role::User, &secret(2)).await, Err(RepoError::Conflict(_))));
    // a key cannot make keys: its user is not a person
    let key_user = f.raw.i64("select user_id from api_keys where id = $1", args![id]).await;
    let other = ApiKeyName::parse("Other").unwrap();
    assert!(matches!(f.repo.create_api_key(a.id, contacts_admin::domain::UserId(key_user), &other, Role::Admin, &secret(3)).await, Err(RepoError::Forbidden(_))));

    assert!(matches!(f.repo.revoke_api_key(a.id, a.user, id).await, Err(RepoError::Forbidden(_))));
    assert!(!f.repo.revoke_api_key(b.id, b.admin, id).await.unwrap(), "another account's key is not found");
    assert!(f.repo.api_caller(&secret(1)).await.unwrap().is_some());
    assert!(f.repo.revoke_api_key(a.id, a.admin, id).await.unwrap());
    assert!(!f.repo.revoke_api_key(a.id, a.admin, id).await.unwrap(), "revoked once");
    assert!(f.repo.api_caller(&secret(1)).await.unwrap().is_none());
    // the name is free again once revoked
    f.repo.create_api_key(a.id, a.admin, &name, Role::User, &secret(2)).await.unwrap();
    let keys = f.repo.api_keys(a.id).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys[0].revoked_at.is_none() && keys[1].revoked_at.is_some(), "live keys first");
    assert!(f.repo.api_keys(b.id).await.unwrap().is_empty());
    // only the hash is stored
    let stored: Vec<(String, String)> = f.raw.all("select secret_hash, prefix from api_keys", &[]).await;
    for (hash, prefix) in stored {
        assert_ne!(hash, secret(1).as_str());
        assert_ne!(hash, secret(2).as_str());
        assert_eq!(prefix.len(), 11);
    }
});

both_backends!(async fn a_keys_user_never_signs_in_nor_stands_for_the_account(db: TestDb) {
    let f = Fixture::new(db).await;
    // an account whose only admin is... none: the key is made by A's admin, then A's admin is demoted
    let id = f.repo.create_api_key(f.acc.id, f.acc.admin, &ApiKeyName::parse("Sync").unwrap(), Role::Admin, &secret(4)).await.unwrap();
    let (email, hash): (String, String) = f.raw.one("select u.email, u.password_hash from users u join api_keys k on k.user_id = u.id where k.id = $1", args![id]).await;
    assert!(f.repo.login_user(&email).await.unwrap().is_none(), "no sign-in as a key");
    assert!(!contacts_admin::password::verify(&hash, ""));
    f.raw.exec("update users set role = 'user' where id = $1", args![f.acc.admin]).await;
    assert_eq!(f.repo.first_admin(f.acc.id).await.unwrap(), None, "a key is not the account's admin");
});

both_backends!(async fn a_caller_is_the_keys_user_and_its_use_is_noted_once_a_minute(db: TestDb) {
    let f = Fixture::new(db).await;
    let id = f.repo.create_api_key(f.acc.id, f.acc.admin, &ApiKeyName::parse("Zapier").unwrap(), Role::Admin, &secret(5)).await.unwrap();
    let caller = f.repo.api_caller(&secret(5)).await.unwrap().expect("a live key");
    assert_eq!((caller.key_id, caller.key_name.as_str(), caller.user.role, caller.user.account_id), (id, "Zapier", Role::Admin, f.acc.id));
    assert_eq!(caller.user.name, "API key “Zapier”");
    let raw = &f.raw;
    let used = || async move { raw.opt_i64("select last_used_at from api_keys where id = $1", &[crate::support::V::I(id)]).await };
    let first = used().await.expect("noted");
    f.advance(Duration::seconds(30));
    f.repo.api_caller(&secret(5)).await.unwrap();
    assert_eq!(used().await, Some(first), "not written again within the minute");
    f.advance(Duration::seconds(31));
    f.repo.api_caller(&secret(5)).await.unwrap();
    assert!(used().await.unwrap() > first);
    assert!(f.repo.api_caller(&secret(6)).await.unwrap().is_none());

    // what it deletes is audited as the key, through the API, and named on the Restore page
    let c = f.contact("Gone", None, &[]).await;
    f.repo
        .delete_contacts(f.acc.id, Actor::api(caller.user.id), &Selection::ids(vec![c]).unwrap(), None, DeleteConfirmation::parse("DELETE").unwrap())
        .await
        .unwrap();
    let (channel,): (String,) = f.raw.one("select channel from audit_events where action = 'delete'", &[]).await;
    assert_eq!(channel, "api");
    let page = f.repo.deleted_contacts(f.acc.id, &Default::default(), Default::default(), None, 10).await.unwrap();
    assert_eq!(page.contacts[0].deleted_by(), "API key “Zapier”");
    // a user key is refused by the repository itself (R1)
    f.repo.create_api_key(f.acc.id, f.acc.admin, &ApiKeyName::parse("Reader").unwrap(), Role::User, &secret(7)).await.unwrap();
    let reader = f.repo.api_caller(&secret(7)).await.unwrap().unwrap();
    let d = f.contact("Stays", None, &[]).await;
    let refused = f
        .repo
        .delete_contacts(f.acc.id, Actor::api(reader.user.id), &Selection::ids(vec![d]).unwrap(), None, DeleteConfirmation::parse("DELETE").unwrap())
        .await;
    assert!(matches!(refused, Err(RepoError::Forbidden(_))));
});
