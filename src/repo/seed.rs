//! Demo and synthetic data: contacts with realistic names and ~21 associated rows each,
//! generated inside the database with set-based statements so that a million contacts
//! take minutes, not hours.

use super::sql::{millis, on_db, Dialect};
use super::{Repo, RepoResult};
use crate::domain::{AccountId, UserId};

/// Contacts generated per transaction.
const SEED_CHUNK: i64 = 20_000;

#[cfg(test)]
mod tests {
    #[test]
    fn named_parameters_are_numbered_by_first_use() {
        let (sql, names) = super::numbered("select :hi, :acc, :hi, ':x', :accx");
        assert_eq!(sql, "select $1, $2, $1, ':x', :accx");
        assert_eq!(names, vec!["hi", "acc"]);
    }
}

const FIRST_NAMES: [&str; 40] = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo",
    "Amelia", "Benjamin", "Harper", "Henry", "Evelyn", "Theodore", "Aria", "Jack", "Chloe", "Levi", "Layla",
    "Sebastian", "Zoe", "Daniel", "Nora", "Samuel", "Lily", "Owen", "Grace", "Ethan", "Hannah", "Leo", "Priya",
    "Kenji", "Fatima", "Diego", "Ingrid", "Tomasz",
];
const LAST_NAMES: [&str; 40] = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Patel", "Kowalski", "Okafor",
];
const COMPANIES: [(&str, &str); 25] = [
    ("Brightpath Realty", "brightpath.io"), ("Northwind Traders", "northwind.example"), ("Acme Dental", "acmedental.com"),
    ("Blue Harbor Fitness", "blueharbor.fit"), ("Cedar & Co Law", "cedarlaw.com"), ("Summit Roofing", "summitroofing.net"),
    ("Lumen Marketing", "lumen.agency"), ("Green Leaf Landscaping", "greenleaf.co"), ("Harborview Insurance", "harborview.com"),
    ("Pixel Forge", "pixelforge.dev"), ("Maple Street Bakery", "maplebakery.com"), ("Orbit Logistics", "orbitlogistics.com"),
    ("Silverline Auto", "silverline.auto"), ("Evergreen Clinic", "evergreenclinic.org"), ("Atlas Consulting", "atlas-consulting.com"),
    ("Riverbend Hotel", "riverbendhotel.com"), ("Quantum Solar", "quantumsolar.energy"), ("Copperfield Salon", "copperfield.salon"),
    ("Juniper Schools", "juniper.edu"), ("Redwood Capital", "redwoodcap.com"), ("Sunrise Yoga", "sunriseyoga.studio"),
    ("Keystone Builders", "keystonebuild.com"), ("Nova Pet Care", "novapet.care"), ("Trident Security", "tridentsec.com"),
    ("Willow Weddings", "willowweddings.com"),
];
const TAGS: [&str; 8] = ["Customer", "Lead", "Newsletter", "VIP", "Inactive", "Partner", "Webinar 2026", "Referral"];

fn values_list(items: impl Iterator<Item = String>) -> String {
    items.enumerate().map(|(i, v)| format!("({i}, {v})")).collect::<Vec<_>>().join(", ")
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Turns `:name` parameters into `$1, $2, …` in order of first use, so a statement
/// binds exactly the values it uses (PostgreSQL refuses unused ones).
fn numbered(sql: &str) -> (String, Vec<&'static str>) {
    const NAMES: [&str; 7] = ["acc", "lo", "hi", "u1", "u2", "now", "file"];
    let mut out = String::with_capacity(sql.len());
    let mut order: Vec<&'static str> = Vec::new();
    let mut rest = sql;
    while let Some(pos) = rest.find(':') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        match NAMES.iter().find(|n| after.starts_with(**n) && !after[n.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')) {
            Some(name) => {
                let idx = order.iter().position(|o| o == name).unwrap_or_else(|| {
                    order.push(name);
                    order.len() - 1
                });
                out.push_str(&format!("${}", idx + 1));
                rest = &after[name.len()..];
            }
            None => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, order)
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SeedReport {
    pub contacts: i64,
    pub associated_rows: i64,
}

/// Inserts the contacts numbered `$1..=$2` into account `$3`, created `$5` ms apart
/// before `$4` (the contact numbered `$6` at `$4`), with names, emails, phones and
/// companies drawn from the lists above.
fn contacts_insert_sql() -> String {
    let firsts = values_list(FIRST_NAMES.iter().map(|s| quoted(s)));
    let lasts = values_list(LAST_NAMES.iter().map(|s| quoted(s)));
    let companies = values_list(COMPANIES.iter().map(|(c, d)| format!("{}, {}", quoted(c), quoted(d))));
    format!(
        "with recursive seq(n) as (select cast($1 as bigint) union all select n + 1 from seq where n < $2),
              f(i, name) as (values {firsts}),
              l(i, name) as (values {lasts}),
              co(i, name, domain) as (values {companies})
         insert into contacts (account_id, first_name, last_name, email, phone, company, search_text, created_at, updated_at)
         select $3, f.name, l.name,
                lower(f.name) || '.' || lower(l.name) || '.' || seq.n || '@' || co.domain,
                '+1 555 ' || (100 + seq.n % 900) || ' ' || (1000 + seq.n % 9000),
                co.name,
                lower(f.name || ' ' || l.name || ' ' || f.name || '.' || l.name || '.' || seq.n || '@' || co.domain
                      || ' +1 555 ' || (100 + seq.n % 900) || ' ' || (1000 + seq.n % 9000) || ' ' || co.name),
                $4 - ($6 - seq.n) * $5, $4 - ($6 - seq.n) * $5
         from seq
         join f on f.i = seq.n % 40
         join l on l.i = (seq.n / 40) % 40
         join co on co.i = (seq.n / 7) % 25"
    )
}

/// The statements that give a chunk's contacts `c` (ids `:lo..=:hi` of account `:acc`)
/// their associated rows; `:u1`, `:u2` are users, `:now` the time, `:file` a file body.
fn associated_inserts() -> Vec<String> {
    let hour = 3_600_000i64;
    let day = 24 * hour;
    let tags = values_list(TAGS.iter().map(|s| quoted(s)));
    vec![
        format!("with k(i) as (values (1), (2))
         insert into conversations (account_id, contact_id, channel, subject, created_at)
         select c.account_id, c.id, case when k.i = 1 then 'email' else 'sms' end,
                case when (c.id + k.i) % 3 = 0 then 'Viewing request' when (c.id + k.i) % 3 = 1 then 'Follow-up' else 'Pricing question' end,
                c.created_at + k.i * {hour}
         from contacts c, k where c.account_id = :acc and c.id between :lo and :hi"),
        format!("with k(i) as (values (1), (2))
         insert into messages (account_id, conversation_id, contact_id, direction, body, created_at)
         select v.account_id, v.id, v.contact_id, case when k.i = 1 then 'inbound' else 'outbound' end,
                case when k.i = 1 then 'Hi, is the offer from last week still available?' else 'Yes it is. Shall we book a call on Thursday?' end,
                v.created_at + k.i * 60000
         from conversations v, k where v.account_id = :acc and v.contact_id between :lo and :hi"),
        format!("with k(i) as (values (1), (2), (3))
         insert into notes (account_id, contact_id, user_id, body, created_at)
         select c.account_id, c.id, case when k.i = 2 then :u2 else :u1 end,
                case k.i when 1 then 'Met at the spring open house; interested in a 3-bedroom.'
                         when 2 then 'Prefers email over phone. Budget confirmed.'
                         else 'Asked to be called back after the holidays.' end,
                c.created_at + k.i * {day}
         from contacts c, k where c.account_id = :acc and c.id between :lo and :hi"),
        format!("with k(i) as (values (1), (2))
         insert into tasks (account_id, contact_id, user_id, title, due_at, status, created_at)
         select c.account_id, c.id, :u1, case when k.i = 1 then 'Send the brochure' else 'Call back' end,
                :now + ((c.id + k.i) % 20 - 5) * {day}, case when (c.id + k.i) % 3 = 0 then 'done' else 'open' end, c.created_at
         from contacts c, k where c.account_id = :acc and c.id between :lo and :hi"),
        format!("insert into appointments (account_id, contact_id, user_id, title, starts_at, status, created_at)
         select c.account_id, c.id, :u2, 'Property viewing', :now + (c.id % 30 - 15) * {day}, 'scheduled', c.created_at
         from contacts c where c.account_id = :acc and c.id between :lo and :hi"),
        "insert into opportunities (account_id, contact_id, name, value_cents, status, created_at)
         select c.account_id, c.id, 'Deal ' || c.id, 50000 + (c.id % 50) * 10000,
                case c.id % 3 when 0 then 'open' when 1 then 'won' else 'lost' end, c.created_at
         from contacts c where c.account_id = :acc and c.id between :lo and :hi".to_string(),
        "insert into manual_actions (account_id, contact_id, user_id, kind, description, status, created_at)
         select c.account_id, c.id, :u1, case c.id % 3 when 0 then 'call' when 1 then 'sms' else 'email' end,
                'Reach out about the new listing', case when c.id % 4 = 0 then 'done' else 'pending' end, c.created_at
         from contacts c where c.account_id = :acc and c.id between :lo and :hi".to_string(),
        format!("with k(i) as (values (1), (2), (3))
         insert into activities (account_id, contact_id, user_id, kind, summary, created_at)
         select c.account_id, c.id, case when k.i = 3 then :u2 else :u1 end,
                case k.i when 1 then 'email_opened' when 2 then 'note_added' else 'call_logged' end,
                case k.i when 1 then 'Opened “Spring listings”' when 2 then 'Added a note' else 'Logged a 4-minute call' end,
                case when k.i = 3 and c.id % 5 = 0 then :now - (c.id % 6) * {day} else c.created_at + k.i * {hour} end
         from contacts c, k where c.account_id = :acc and c.id between :lo and :hi"),
        "insert into files (account_id, contact_id, user_id, name, content_type, size_bytes, content, created_at)
         select c.account_id, c.id, :u1, case when c.id % 2 = 0 then 'signed-agreement.txt' else 'id-scan.txt' end,
                'text/plain', 64, :file, c.created_at
         from contacts c where c.account_id = :acc and c.id between :lo and :hi".to_string(),
        format!("with t(i, name) as (values {tags})
         insert into contact_tags (contact_id, tag, account_id, created_at)
         select c.id, t.name, c.account_id, c.created_at from contacts c join t on t.i = c.id % 8
         where c.account_id = :acc and c.id between :lo and :hi"),
        "insert into community_groups (account_id, name, owner_contact_id, created_at)
         select c.account_id, 'Neighbourhood group ' || c.id, c.id, c.created_at
         from contacts c where c.account_id = :acc and c.id between :lo and :hi and c.id % 500 = 0".to_string(),
    ]
}

impl Repo {
    /// Adds `n` contacts to the account, each with two conversations (four messages),
    /// three notes, two tasks, an appointment, an opportunity, a manual action, three
    /// activities, a file, a campaign enrollment, a list membership and a tag; every
    /// 500th contact owns a community group. `users` are the authors of the activity.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn seed_contacts(&self, account: AccountId, n: i64, users: &[UserId]) -> RepoResult<SeedReport> {
        let now = millis(self.now());
        let u1 = users.first().map(|u| u.0);
        let u2 = users.get(1).map(|u| u.0).or(u1);
        let campaigns = self.seed_named(account, "campaigns", &["Spring Open House", "Monthly Newsletter", "Win-back 2026"]).await?;
        let lists = self.seed_named(account, "lists", &["Prospects", "Past clients", "Event attendees"]).await?;
        on_db!(self, |pool, DB| {
            let mut tx = DB::begin_write(pool).await?;
            for t in TAGS {
                sqlx::query("insert into tags (account_id, name) values ($1, $2) on conflict do nothing")
                    .bind(account.0)
                    .bind(t)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });

        let contacts_sql = contacts_insert_sql();
        let per_contact = associated_inserts();
        let day = 24 * 3_600_000i64;
        let file_body: Vec<u8> = b"Signed agreement, scanned copy. This text stands for the attached document.\n"[..64].to_vec();

        // creation times spread over about two years before now, newest last
        let spacing = (2 * 365 * day / n.max(1)).max(60_000);
        let mut report = SeedReport::default();
        let mut done = 0i64;
        while done < n {
            let take = SEED_CHUNK.min(n - done);
            let rows: i64 = on_db!(self, |pool, DB| {
                let mut tx = DB::begin_write(pool).await?;
                let before: i64 = sqlx::query_scalar("select coalesce(max(id), 0) from contacts").fetch_one(&mut *tx).await?;
                // numbering from the highest id ever given keeps generated emails unique
                let base = before;
                sqlx::query(&contacts_sql)
                    .bind(base + 1)
                    .bind(base + take)
                    .bind(account.0)
                    .bind(now)
                    .bind(spacing)
                    // the number the last contact of the whole run gets: the newest, at `now`
                    .bind(base + n - done)
                    .execute(&mut *tx)
                    .await?;
                let after: i64 = sqlx::query_scalar("select coalesce(max(id), 0) from contacts").fetch_one(&mut *tx).await?;
                let mut rows = 0i64;
                for sql in &per_contact {
                    let (sql, names) = numbered(sql);
                    let mut q = sqlx::query(&sql);
                    for name in names {
                        q = match name {
                            "acc" => q.bind(account.0),
                            "lo" => q.bind(before + 1),
                            "hi" => q.bind(after),
                            "u1" => q.bind(u1),
                            "u2" => q.bind(u2),
                            "now" => q.bind(now),
                            _ => q.bind(file_body.clone()),
                        };
                    }
                    rows += q.execute(&mut *tx).await?.rows_affected() as i64;
                }
                for (k, campaign) in campaigns.iter().enumerate() {
                    rows += sqlx::query(
                        "insert into enrollments (account_id, contact_id, campaign_id, status, created_at)
                         select c.account_id, c.id, $4, case when c.id % 4 = 0 then 'finished' else 'active' end, c.created_at
                         from contacts c where c.account_id = $1 and c.id between $2 and $3 and c.id % 3 = $5",
                    )
                    .bind(account.0)
                    .bind(before + 1)
                    .bind(after)
                    .bind(campaign)
                    .bind(k as i64)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected() as i64;
                }
                for (k, list) in lists.iter().enumerate() {
                    rows += sqlx::query(
                        "insert into list_members (list_id, contact_id, account_id, added_at)
                         select $4, c.id, c.account_id, c.created_at
                         from contacts c where c.account_id = $1 and c.id between $2 and $3 and c.id % 3 = $5",
                    )
                    .bind(account.0)
                    .bind(before + 1)
                    .bind(after)
                    .bind(list)
                    .bind(k as i64)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected() as i64;
                }
                tx.commit().await?;
                rows
            });
            report.contacts += take;
            report.associated_rows += rows;
            done += take;
        }
        on_db!(self, |pool, DB| {
            sqlx::query(DB::AFTER_BULK_LOAD).execute(pool).await?;
        });
        // a bulk load ends with a compact search index
        self.tidy_search_index(1, u32::MAX).await?;
        Ok(report)
    }

    /// Rows with a name in `table` (campaigns, lists), created when missing.
    async fn seed_named(&self, account: AccountId, table: &str, names: &[&str]) -> RepoResult<Vec<i64>> {
        let now = millis(self.now());
        let mut ids = Vec::new();
        for name in names {
            let id: i64 = on_db!(self, |pool, DB| {
                let existing: Option<i64> = sqlx::query_scalar(&format!("select id from {table} where account_id = $1 and name = $2"))
                    .bind(account.0)
                    .bind(name)
                    .fetch_optional(pool)
                    .await?;
                match existing {
                    Some(id) => id,
                    None => {
                        sqlx::query_scalar(&format!(
                            "insert into {table} (account_id, name, created_at) values ($1, $2, $3) returning id"
                        ))
                        .bind(account.0)
                        .bind(name)
                        .bind(now)
                        .fetch_one(pool)
                        .await?
                    }
                }
            });
            ids.push(id);
        }
        Ok(ids)
    }
}
