//! The command line (SPEC §4): `serve` (default), `migrate`, `seed`, `purge`,
//! `create-user`, `bench`.

mod bench;

use crate::clock::{Clock, ManualClock, OffsetFileClock, SystemClock};
use crate::config::{prepare_sqlite_dir, redact_url, Settings, DEFAULT_DATABASE_URL};
use crate::domain::{
    AccountId, Actor, ContactFilter, ContactId, DeleteConfirmation, Email, ListOrder, Role, Selection, SortColumn, UserId,
};
use crate::repo::{PageRequest, Repo};
use crate::startup::Application;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Parser)]
#[command(name = "contacts-admin", version, about = "Delete CRM contacts safely, restore them within 60 days, automate clean-up")]
pub struct Cli {
    /// `sqlite://path` (default) or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate,
    /// Create the demo account, or add synthetic contacts to an account.
    Seed {
        /// Account to add contacts to (created if missing).
        #[arg(long, default_value = DEMO_ACCOUNT)]
        account: String,
        /// Add this many synthetic contacts (each with ~21 associated rows);
        /// without it, the demo account with its two users is created.
        #[arg(long)]
        contacts: Option<i64>,
    },
    /// Permanently remove contacts whose 60-day restore window has closed.
    Purge,
    /// Create a user (and the account if it does not exist), or update its password and role.
    CreateUser {
        #[arg(long)]
        account: String,
        #[arg(long)]
        email: String,
        #[arg(long, env = "CONTACTS_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "user")]
        role: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Create an API key for an account, as one of its admins, and print it (once).
    CreateApiKey {
        #[arg(long)]
        account: String,
        /// What the audit log calls it: "via API key “NAME”".
        #[arg(long)]
        name: String,
        /// admin (may delete, restore and erase) or user.
        #[arg(long, default_value = "user")]
        role: String,
    },
    /// Time the repository's list, search and count on an account (see README).
    Bench {
        #[arg(long, default_value = DEMO_ACCOUNT)]
        account: String,
        /// Timed runs per query.
        #[arg(long, default_value_t = 21)]
        runs: usize,
        /// Also delete every contact of the account and report contacts per second.
        #[arg(long)]
        delete_all: bool,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Session cookie key (at least 64 bytes). Default: generated once and kept beside
    /// the SQLite file.
    #[arg(long, env = "SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,
    /// Mark the session cookie Secure (when served over https).
    #[arg(long, env = "COOKIE_SECURE", default_value_t = false)]
    pub secure_cookies: bool,
    /// Reverse proxy (IP address) whose X-Forwarded-For names the client; several
    /// separated by commas or given again. Without it, X-Forwarded-For is ignored.
    #[arg(long = "trusted-proxy", env = "TRUSTED_PROXY", value_name = "ADDR", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds between purges of expired contacts inside the server; 0 disables.
    #[arg(long, env = "PURGE_INTERVAL_SECS", default_value_t = 3600)]
    pub purge_interval_secs: u64,
    /// Create the demo account first if it is missing, and print its logins.
    #[arg(long)]
    pub demo: bool,
    /// Deletions of more contacts than this run as background jobs.
    #[arg(long, env = "BULK_THRESHOLD", default_value_t = 2000)]
    pub bulk_threshold: i64,
    /// Contacts per transaction in background jobs; without it, each transaction is
    /// sized to take about a second.
    #[arg(long, env = "BULK_CHUNK")]
    pub bulk_chunk: Option<i64>,
    /// Host name, IP address or CIDR range that webhooks may reach although it is not
    /// public (loopback, private…); several separated by commas or given again.
    #[arg(long = "webhook-allow-host", env = "WEBHOOK_ALLOW_HOSTS", value_name = "HOST", value_delimiter = ',')]
    pub webhook_allow_hosts: Vec<String>,
    /// Milliseconds before a failed webhook is first sent again; each retry doubles it.
    #[arg(long, env = "WEBHOOK_RETRY_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_ms: u64,
    /// Seconds one webhook attempt may take.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout_secs: u64,
    /// Requests each API key may make per minute; more get 429.
    #[arg(long = "api-rate-limit", env = "API_RATE_LIMIT", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate_per_minute: u32,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            bind: "127.0.0.1:8080".into(),
            session_key: None,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            purge_interval_secs: 3600,
            demo: false,
            bulk_threshold: 2000,
            bulk_chunk: None,
            webhook_allow_hosts: Vec::new(),
            webhook_retry_ms: 30_000,
            webhook_timeout_secs: 10,
            api_rate_per_minute: 600,
        }
    }
}

/// One address of `--trusted-proxy` (the list is split at commas first).
fn parse_proxy(s: &str) -> Result<std::net::IpAddr, String> {
    let s = s.trim();
    s.parse().map_err(|_| format!("{s:?} is not an IP address"))
}

pub const DEMO_ACCOUNT: &str = "Demo Realty";
pub const DEMO_ADMIN: (&str, &str, &str) = ("admin@demo.test", "demo-admin", "Alex Admin");
pub const DEMO_USER: (&str, &str, &str) = ("user@demo.test", "demo-user", "Riley User");
const DEMO_CONTACTS: i64 = 300;

/// The clock: real time, shifted by the seconds in `CONTACTS_ADMIN_CLOCK_OFFSET_FILE`
/// when that is set (black-box tests move a running server past the 60-day window).
fn clock_from_env() -> Arc<dyn Clock> {
    match std::env::var("CONTACTS_ADMIN_CLOCK_OFFSET_FILE") {
        Ok(path) if !path.is_empty() => Arc::new(OffsetFileClock::new(path)),
        _ => Arc::new(SystemClock),
    }
}

async fn open(url: &str) -> anyhow::Result<Repo> {
    prepare_sqlite_dir(url).context("creating the database directory")?;
    Repo::connect(url, clock_from_env())
        .await
        .with_context(|| format!("opening the database {}", redact_url(url)))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing();
    let url = cli.database_url.clone();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(&url, args).await,
        Command::Migrate => {
            open(&url).await?;
            println!("Database {} is up to date.", redact_url(&url));
            Ok(())
        }
        Command::Seed { account, contacts } => {
            let repo = open(&url).await?;
            match contacts {
                None => {
                    let created = seed_demo(&repo).await?;
                    println!("{}", if created { "Demo account created." } else { "Demo account already present." });
                    print_demo_logins();
                }
                Some(n) if n > 0 => {
                    let acc = repo.ensure_account(&account).await?;
                    let mut users = Vec::new();
                    if let Some(a) = repo.first_admin(acc).await? {
                        users.push(a);
                    }
                    let started = Instant::now();
                    let r = repo.seed_contacts(acc, n, &users).await?;
                    println!(
                        "Seeded {} contacts with {} associated rows into \"{account}\" in {:.1}s.",
                        r.contacts,
                        r.associated_rows,
                        started.elapsed().as_secs_f64()
                    );
                }
                Some(_) => anyhow::bail!("--contacts must be a positive number"),
            }
            Ok(())
        }
        Command::Purge => {
            let repo = open(&url).await?;
            let r = repo.purge_expired().await?;
            println!("Purged {} contacts past their 60-day window.", r.purged);
            Ok(())
        }
        Command::CreateUser { account, email, password, role, name } => {
            let repo = open(&url).await?;
            let email = Email::parse(&email)?;
            let role = Role::parse(&role)?;
            if password.chars().count() < 8 {
                anyhow::bail!("the password needs at least 8 characters");
            }
            let acc = repo.ensure_account(&account).await?;
            let name = name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_string());
            let id = repo.upsert_user(acc, &email, &name, role, &crate::password::hash(&password)?).await?;
            println!("User {} ({}) #{} in account \"{}\".", email.as_str(), role.as_str(), id, account);
            Ok(())
        }
        Command::CreateApiKey { account, name, role } => {
            let repo = open(&url).await?;
            let name = crate::domain::ApiKeyName::parse(&name)?;
            let role = Role::parse(&role)?;
            let acc = repo.find_account(&account).await?.with_context(|| format!("there is no account named \"{account}\""))?;
            let admin = repo.first_admin(acc).await?.with_context(|| format!("the account \"{account}\" has no admin to create the key as"))?;
            let secret = crate::domain::ApiKeySecret::generate(crate::token::random_token());
            let id = repo.create_api_key(acc, admin, &name, role, &secret).await?;
            println!("API key #{id} \"{}\" ({}) for account \"{account}\". It is shown only now:", name.as_str(), role.as_str());
            println!("{}", secret.as_str());
            Ok(())
        }
        Command::Bench { account, runs, delete_all } => {
            let repo = open(&url).await?;
            bench::repository(&repo, &account, runs, delete_all).await
        }
    }
}

/// The deletions the demo account ships with, so that its Restore page, audit log and
/// Bulk actions are not empty on first run: (contacts, days ago, reason), oldest
/// contacts first, all by the demo admin.
pub const DEMO_DELETIONS: [(usize, i64, &str); 2] = [
    (5, 4, "Duplicates from the spring open house import"),
    (2, 2, "Asked to be removed from our records"),
];

/// Creates the demo account, its two users and a few hundred contacts, unless present;
/// then deletes a few of them a few days back (see [`DEMO_DELETIONS`]).
pub async fn seed_demo(repo: &Repo) -> anyhow::Result<bool> {
    if let Some(acc) = repo.find_account(DEMO_ACCOUNT).await? {
        if repo.first_admin(acc).await?.is_some() {
            return Ok(false);
        }
    }
    let acc = repo.ensure_account(DEMO_ACCOUNT).await?;
    let mut users = Vec::new();
    for ((email, password, name), role) in [(DEMO_ADMIN, Role::Admin), (DEMO_USER, Role::User)] {
        let email = Email::parse(email)?;
        users.push(repo.upsert_user(acc, &email, name, role, &crate::password::hash(password)?).await?);
    }
    repo.seed_contacts(acc, DEMO_CONTACTS, &users).await?;
    seed_demo_deletions(repo, acc, users[0]).await?;
    Ok(true)
}

/// Deletes the demo's oldest contacts in [`DEMO_DELETIONS`]' batches through the same
/// repository path as the delete button (R2–R7: cascade, batch, audit), each with the
/// clock set back to its day, so that counts, batches and audit agree.
async fn seed_demo_deletions(repo: &Repo, account: AccountId, admin: UserId) -> anyhow::Result<()> {
    let wanted: usize = DEMO_DELETIONS.iter().map(|d| d.0).sum();
    let oldest = ListOrder::new(SortColumn::Created, false);
    let page = repo.list_contacts_in_order(account, &ContactFilter::default(), PageRequest::first(wanted as u32), oldest).await?;
    let mut ids = page.contacts.iter().map(|c| c.contact_id());
    let now = repo.now();
    for (n, days_ago, reason) in DEMO_DELETIONS {
        let batch: Vec<ContactId> = ids.by_ref().take(n).collect();
        if batch.is_empty() {
            break;
        }
        let then = repo.with_clock(Arc::new(ManualClock::new(now - chrono::Duration::days(days_ago))));
        then.delete_contacts(account, Actor::ui(admin), &Selection::ids(batch)?, Some(reason), DeleteConfirmation::parse("DELETE")?)
            .await?;
    }
    Ok(())
}

fn print_demo_logins() {
    println!("Demo logins (account \"{DEMO_ACCOUNT}\"):");
    println!("  admin: {} / {}", DEMO_ADMIN.0, DEMO_ADMIN.1);
    println!("  user:  {} / {}", DEMO_USER.0, DEMO_USER.1);
}

async fn serve(url: &str, args: ServeArgs) -> anyhow::Result<()> {
    prepare_sqlite_dir(url).context("creating the database directory")?;
    let settings = Settings {
        database_url: url.to_string(),
        bind: args.bind.clone(),
        session_key: args.session_key.clone(),
        secure_cookies: args.secure_cookies,
        trusted_proxies: args.trusted_proxies.clone(),
        purge_interval_secs: args.purge_interval_secs,
        bulk: crate::config::BulkSettings { threshold: args.bulk_threshold.max(1), chunk: args.bulk_chunk.map(|n| n.clamp(1, 10_000)) },
        webhooks: crate::config::WebhookSettings {
            allow: crate::domain::WebhookAllowList::parse(args.webhook_allow_hosts.iter().map(String::as_str))
                .map_err(|e| anyhow::anyhow!("--webhook-allow-host: {e}"))?,
            retry_base_ms: args.webhook_retry_ms,
            timeout_ms: args.webhook_timeout_secs * 1000,
        },
        api_rate_per_minute: args.api_rate_per_minute,
        clock: clock_from_env(),
    };
    let app = Application::build(settings).await?;
    if args.demo && seed_demo(app.repo()).await? {
        println!("Demo account created.");
    }
    println!("contacts-admin listening on http://{}", app.address());
    if args.demo {
        print_demo_logins();
    }
    app.run_until_stopped().await
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // colours for a terminal only: a log file gets plain text
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Each repository call is a debug-level span: with `RUST_LOG=contacts_admin::repo=debug`
    // its time is logged when it ends, so a slow request shows which call was slow.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let mut argv = vec!["contacts-admin", "serve"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)?.command {
            Some(Command::Serve(a)) => Ok(a),
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_separated_by_commas() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(serve_args(&["--trusted-proxy", "10.0.0.1, ::1"]).unwrap().trusted_proxies, vec![ip("10.0.0.1"), ip("::1")]);
        assert_eq!(
            serve_args(&["--trusted-proxy", "10.0.0.1", "--trusted-proxy", "10.0.0.2"]).unwrap().trusted_proxies,
            vec![ip("10.0.0.1"), ip("10.0.0.2")]
        );
        assert!(serve_args(&["--trusted-proxy", "10.0.0.0/8"]).is_err());
        assert!(serve_args(&["--trusted-proxy", "proxy.internal"]).is_err());
    }
}
