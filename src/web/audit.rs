//! The audit log page (R7): deletions, restores, erasures, purges and workflow
//! activations, with a one-click restore of a deletion's batch (R12).

use super::error::{AppError, WebResult};
use super::form::Fields;
use super::page::{render, thousands, PageCtx};
use super::session::{AdminUser, TypedSession};
use crate::domain::When;
use crate::repo::{AuditAction, AuditFilter, Repo};
use actix_web::{web, HttpResponse};
use askama::Template;

pub struct EventView {
    pub id: i64,
    pub time: When,
    pub action: String,
    pub action_label: String,
    pub actor: String,
    pub channel: String,
    pub count: String,
    pub description: String,
    pub reason: String,
    pub batch: Option<i64>,
    /// The deletion the event made or undid, by its name.
    pub deletion: String,
    pub deletion_batch: Option<i64>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: PageCtx,
    events: Vec<EventView>,
    action: String,
    actions: Vec<(&'static str, &'static str)>,
    next_url: Option<String>,
}

fn action_label(a: &str) -> &'static str {
    match a {
        "delete" => "Deletion",
        "restore" => "Restore",
        "erase" => "Erase",
        "purge" => "Purge",
        "workflow_activate" => "Workflow activated",
        "workflow_pause" => "Workflow paused",
        "workflow_edit" => "Workflow changed",
        "workflow_remove" => "Workflow removed",
        _ => "Other",
    }
}

/// `GET /audit` (admins).
pub async fn page(session: TypedSession, AdminUser(user): AdminUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let action = match f.get("action").filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(AuditAction::parse(a).ok_or_else(|| AppError::BadRequest(format!("Unknown kind of event \"{}\".", a.chars().take(40).collect::<String>())))?),
    };
    let before = match f.get("before").filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => Some(b.parse::<i64>().map_err(|_| AppError::BadRequest("That page link is not valid.".into()))?),
    };
    let events = repo.audit_events(user.account_id, &AuditFilter { action, before, limit: 50 }).await?;
    let next_url = (events.len() == 50).then(|| {
        let last = events.last().map(|e| e.id).unwrap_or(0);
        match action {
            Some(a) => format!("/audit?action={}&before={last}", a.as_str()),
            None => format!("/audit?before={last}"),
        }
    });
    let events = events
        .into_iter()
        .map(|e| {
            let person = e.actor_name.clone().unwrap_or_else(|| if e.channel == "system" { "System".into() } else { "A removed user".into() });
            let actor = match (&e.workflow_name, &e.triggered_by_name) {
                (Some(w), Some(t)) => format!("Workflow “{w}” on behalf of {person}, triggered by {t}"),
                (Some(w), None) => format!("Workflow “{w}” on behalf of {person}"),
                (None, _) => person,
            };
            let deletion = match (e.action.as_str(), e.deletion_name().map(|n| n.in_zone(user.zone))) {
                ("delete", Some(n)) => n.long(),
                (_, Some(n)) => format!("Undoes the {}", n.in_sentence()),
                (_, None) => String::new(),
            };
            EventView {
                id: e.id,
                time: user.zone.second(e.time()),
                action_label: action_label(&e.action).into(),
                action: e.action.clone(),
                actor,
                channel: match e.channel.as_str() {
                    "ui" => "UI",
                    "cli" => "CLI",
                    "workflow" => "Workflow",
                    "api" => "API",
                    _ => "System",
                }
                .into(),
                count: thousands(e.contact_count),
                description: e.description,
                reason: e.reason.unwrap_or_default(),
                batch: if e.action == "delete" { e.batch_id } else { None },
                deletion,
                deletion_batch: e.batch_id,
            }
        })
        .collect();
    let page = PageCtx::new(&session, &user, "audit", "Audit log")?;
    let actions = AuditAction::ALL.iter().map(|a| (a.as_str(), action_label(a.as_str()))).collect();
    render(&AuditPage { page, events, action: action.map(|a| a.as_str().to_string()).unwrap_or_default(), actions, next_url })
}
