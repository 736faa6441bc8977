//! Automations → Workflows (W1–W4): list, create, edit, activate/pause, remove, test on
//! one contact, and the run history.

use super::error::{AppError, WebResult};
use super::form::Fields;
use super::page::{render, render_status, see_other, PageCtx};
use super::session::{CurrentUser, Flash, TypedSession};
use crate::domain::workflow::MAX_ACTIONS;
use crate::domain::{Actor, ContactFilter, ContactId, DeleteConfirmation, TagAuthority, TagName, UserZone, When, WorkflowAction, WorkflowDraft, WorkflowId, WorkflowStatus};
use crate::repo::{from_millis, Cursor, PageRequest, Repo, Workflow};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

/// Editor rows shown: the workflow's actions plus blank rows up to a few.
const EDITOR_ROWS: usize = 4;

pub struct WorkflowView {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub trigger: String,
    pub actions: Vec<String>,
    pub deletes: bool,
    pub runs: i64,
    pub last_run: Option<When>,
    /// Who activated it, and when.
    pub activated_by: Option<(String, When)>,
}

impl WorkflowView {
    fn new(w: &Workflow, zone: UserZone) -> Self {
        WorkflowView {
            id: w.id.0,
            name: w.name.clone(),
            status: w.status.as_str().to_string(),
            trigger: w.trigger_tag.clone(),
            actions: w.actions.iter().map(WorkflowAction::describe).collect(),
            deletes: w.deletes(),
            runs: w.runs,
            last_run: w.last_run_at.map(|t| zone.minute(t)),
            activated_by: w.activated_by_name.clone().zip(w.activated_at.map(|t| zone.minute(t))),
        }
    }
}

#[derive(Template)]
#[template(path = "workflows.html")]
struct ListPage {
    page: PageCtx,
    workflows: Vec<WorkflowView>,
}

pub async fn list(session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let workflows = repo.list_workflows(user.account_id).await?.iter().map(|w| WorkflowView::new(w, user.zone)).collect();
    let page = PageCtx::new(&session, &user, "workflows", "Workflows")?;
    render(&ListPage { page, workflows })
}

pub struct ActionRow {
    pub kind: String,
    pub tag: String,
}

#[derive(Template)]
#[template(path = "workflow_edit.html")]
struct EditPage {
    page: PageCtx,
    name: String,
    trigger: String,
    rows: Vec<ActionRow>,
    error: Option<String>,
    tags: Vec<String>,
}

fn rows_of(actions: &[WorkflowAction]) -> Vec<ActionRow> {
    let mut rows: Vec<ActionRow> = actions
        .iter()
        .map(|a| ActionRow { kind: a.kind().to_string(), tag: a.tag().map(|t| t.as_str().to_string()).unwrap_or_default() })
        .collect();
    while rows.len() < EDITOR_ROWS.max(actions.len() + 1).min(MAX_ACTIONS) {
        rows.push(ActionRow { kind: String::new(), tag: String::new() });
    }
    rows
}

fn parse_draft(f: &Fields) -> Result<WorkflowDraft, AppError> {
    let kinds: Vec<&str> = f.all("action").collect();
    let tags: Vec<&str> = f.all("action_tag").collect();
    if kinds.len() > MAX_ACTIONS {
        return Err(AppError::BadRequest(format!("A workflow has at most {MAX_ACTIONS} actions.")));
    }
    let mut actions = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        if let Some(a) = WorkflowAction::parse(kind, tags.get(i).copied().unwrap_or(""))
            .map_err(|e| AppError::BadRequest(format!("Action {}: {}", i + 1, e.0)))?
        {
            actions.push(a);
        }
    }
    Ok(WorkflowDraft::parse(f.get("name").unwrap_or(""), f.get("trigger_tag").unwrap_or(""), actions)?)
}

fn edit_page_from_form(page: PageCtx, f: &Fields, error: String, tags: Vec<String>) -> EditPage {
    let kinds: Vec<&str> = f.all("action").collect();
    let atags: Vec<&str> = f.all("action_tag").collect();
    let mut rows: Vec<ActionRow> = kinds
        .iter()
        .take(MAX_ACTIONS)
        .enumerate()
        .map(|(i, k)| ActionRow { kind: k.to_string(), tag: atags.get(i).copied().unwrap_or("").to_string() })
        .collect();
    while rows.len() < EDITOR_ROWS {
        rows.push(ActionRow { kind: String::new(), tag: String::new() });
    }
    EditPage {
        page,
        name: f.get("name").unwrap_or("").to_string(),
        trigger: f.get("trigger_tag").unwrap_or("").to_string(),
        rows,
        error: Some(error),
        tags,
    }
}

pub async fn new_form(session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let page = PageCtx::new(&session, &user, "workflows", "New workflow")?;
    let tags = repo.account_tags(user.account_id).await?;
    render(&EditPage {
        page,
        name: String::new(),
        trigger: String::new(),
        rows: rows_of(&[WorkflowAction::DeleteContact]),
        error: None,
        tags,
    })
}

/// `POST /workflows`: saved as a draft (W1).
pub async fn create(session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    match parse_draft(&f) {
        Ok(draft) => {
            let id = repo.create_workflow(user.account_id, &draft, user.role).await?;
            session.flash(Flash::success("Workflow saved as a draft. Test it on one contact, then activate it."));
            Ok(see_other(&format!("/workflows/{id}")))
        }
        Err(AppError::BadRequest(msg)) => {
            let page = PageCtx::new(&session, &user, "workflows", "New workflow")?;
            let tags = repo.account_tags(user.account_id).await?;
            render_status(StatusCode::BAD_REQUEST, &edit_page_from_form(page, &f, msg, tags))
        }
        Err(e) => Err(e),
    }
}

fn workflow_id(raw: &str) -> WebResult<WorkflowId> {
    WorkflowId::parse(raw).map_err(|_| AppError::NotFound("There is no such workflow in this account.".into()))
}

async fn load(repo: &Repo, account: crate::domain::AccountId, raw: &str) -> WebResult<Workflow> {
    let id = workflow_id(raw)?;
    repo.get_workflow(account, id).await?.ok_or_else(|| AppError::NotFound("There is no such workflow in this account.".into()))
}

pub struct RunView {
    pub contact: String,
    pub contact_id: i64,
    pub when: When,
    pub kind: String,
    pub state: String,
    pub outcome: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "workflow.html")]
struct ShowPage {
    page: PageCtx,
    wf: WorkflowView,
    rows: Vec<ActionRow>,
    runs: Vec<RunView>,
    tags: Vec<String>,
    /// A workflow that deletes is the admins' alone: activate, pause, edit, test, remove.
    can_manage: bool,
}

/// `GET /workflows/{id}`: the definition, status controls, test and run history.
pub async fn show(path: web::Path<String>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let wf = load(&repo, user.account_id, &path).await?;
    let runs = repo
        .workflow_runs(user.account_id, wf.id, 100)
        .await?
        .into_iter()
        .map(|r| RunView {
            contact: r.contact_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "A contact erased since".to_string()),
            contact_id: r.contact_id,
            when: user.zone.second(from_millis(r.created_at)),
            kind: if r.test_run == 1 { "Test".into() } else { "Trigger".into() },
            state: r.state,
            outcome: r.outcome.unwrap_or_default(),
            error: r.error.unwrap_or_default(),
        })
        .collect();
    let page = PageCtx::new(&session, &user, "workflows", wf.name.clone())?;
    let tags = repo.account_tags(user.account_id).await?;
    let can_manage = !wf.deletes() || user.role.is_admin();
    render(&ShowPage { page, rows: rows_of(&wf.actions), wf: WorkflowView::new(&wf, user.zone), runs, tags, can_manage })
}

/// `POST /workflows/{id}`: save changes.
pub async fn update(path: web::Path<String>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let wf = load(&repo, user.account_id, &path).await?;
    let draft = parse_draft(&f)?;
    repo.update_workflow(user.account_id, wf.id, &draft, user.id, user.role).await?;
    session.flash(Flash::success("Workflow saved."));
    Ok(see_other(&format!("/workflows/{}", wf.id)))
}

/// `POST /workflows/{id}/status` (`status` = active, paused or draft). Only admins may
/// activate a workflow that deletes contacts (W3); activation is audited.
pub async fn set_status(path: web::Path<String>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let wf = load(&repo, user.account_id, &path).await?;
    let status = WorkflowStatus::parse(f.get("status").unwrap_or(""))?;
    repo.set_workflow_status(user.account_id, wf.id, status, user.id, user.role).await?;
    session.flash(Flash::success(match status {
        WorkflowStatus::Active => format!("“{}” is active: it runs whenever the tag “{}” is added to a contact.", wf.name, wf.trigger_tag),
        WorkflowStatus::Paused => format!("“{}” is paused: tags added now do not run it.", wf.name),
        WorkflowStatus::Draft => format!("“{}” is back to draft.", wf.name),
    }));
    Ok(see_other(&format!("/workflows/{}", wf.id)))
}

/// `POST /workflows/{id}/delete`: remove the workflow and its history.
pub async fn remove(path: web::Path<String>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let wf = load(&repo, user.account_id, &path).await?;
    if f.get("confirm") != Some("remove") {
        return Err(AppError::BadRequest("Confirm the removal in its dialog: the workflow and its run history are removed for good.".into()));
    }
    repo.delete_workflow(user.account_id, wf.id, user.id, user.role).await?;
    session.flash(Flash::success(format!("Workflow “{}” removed.", wf.name)));
    Ok(see_other("/workflows"))
}

#[derive(Template)]
#[template(path = "_workflow_picker.html")]
struct PickerResults {
    wf_id: i64,
    contacts: Vec<(i64, String, String)>,
    q: String,
}

/// `GET /workflows/{id}/contacts?q=`: the test's contact picker (htmx).
pub async fn picker(path: web::Path<String>, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let wf = load(&repo, user.account_id, &path).await?;
    let filter = ContactFilter::parse(f.get("q"), None)?;
    let page = repo.list_contacts(user.account_id, &filter, PageRequest { cursor: Cursor::First, size: 10 }).await?;
    let contacts = page.contacts.iter().map(|c| (c.id, c.display_name(), c.email.clone().unwrap_or_default())).collect();
    render(&PickerResults { wf_id: wf.id.0, contacts, q: f.get("q").unwrap_or("").to_string() })
}

#[derive(Template)]
#[template(path = "_workflow_test_preview.html")]
struct TestPreview {
    csrf: String,
    wf_id: i64,
    contact_id: i64,
    contact_name: String,
    steps: Vec<String>,
    deletes: bool,
    impact: Vec<String>,
    /// The tags it adds start other workflows that delete: why.
    chained: Vec<String>,
}

/// `GET /workflows/{id}/test?contact_id=`: exactly what the actions will do (W2).
pub async fn test_preview(path: web::Path<String>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let wf = load(&repo, user.account_id, &path).await?;
    let cid = ContactId::parse(f.get("contact_id").unwrap_or(""))?;
    let c = repo
        .get_contact(user.account_id, cid)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such contact in this account.".into()))?;
    let name = c.display_name();
    let steps = wf.actions.iter().map(|a| test_step(a, &name, &c.tags)).collect();
    let mut impact = Vec::new();
    let mut chained = Vec::new();
    if wf.deletes() {
        only_admins_test(&user)?;
        impact = deletion_lines(&repo, &user, cid).await?;
    } else {
        // its tags may start workflows that delete: the same refusal or confirmation as
        // a tag added by hand
        chained = chained_deletions(&repo, user.account_id, &wf).await?;
        if !chained.is_empty() && !user.role.is_admin() {
            return Err(AppError::Forbidden(format!("{} Only an admin may delete contacts.", chained.join(" "))));
        }
    }
    render(&TestPreview {
        csrf: session.csrf_token()?,
        wf_id: wf.id.0,
        contact_id: cid.0,
        contact_name: name,
        steps,
        deletes: wf.deletes() || !chained.is_empty(),
        impact,
        chained,
    })
}

/// What `action` does to the contact `name` with `tags`, in words.
fn test_step(action: &WorkflowAction, name: &str, tags: &[String]) -> String {
    let has = |tag: &TagName| tags.iter().any(|t| t == tag.as_str());
    match action {
        WorkflowAction::DeleteContact => format!("Delete {name}, with its conversations, notes, tasks, appointments, opportunities, manual actions, activity history and files"),
        WorkflowAction::AddTag { tag } if has(tag) => format!("Add the tag “{}” (already there: no change)", tag.as_str()),
        WorkflowAction::AddTag { tag } => format!("Add the tag “{}” to {name}", tag.as_str()),
        WorkflowAction::RemoveTag { tag } if !has(tag) => format!("Remove the tag “{}” (not there: no change)", tag.as_str()),
        WorkflowAction::RemoveTag { tag } => format!("Remove the tag “{}” from {name}", tag.as_str()),
    }
}

fn only_admins_test(user: &crate::repo::UserInfo) -> WebResult<()> {
    if !user.role.is_admin() {
        return Err(AppError::Forbidden("This workflow deletes contacts: only an admin may test it.".into()));
    }
    Ok(())
}

/// What deleting the contact removes: the same counts as the delete dialog, without the
/// kinds it has none of.
async fn deletion_lines(repo: &Repo, user: &crate::repo::UserInfo, cid: ContactId) -> WebResult<Vec<String>> {
    let i = repo.deletion_impact(user.account_id, &crate::domain::Selection::ids(vec![cid])?, Some(user.id)).await?;
    let (removed, _) = super::contacts::impact_lines(&i);
    let mut lines: Vec<String> = removed.into_iter().filter(|l| l.count != "0").map(|l| format!("{} {}", l.count, l.label)).collect();
    if i.active_enrollments > 0 {
        lines.push(super::page::plural(i.active_enrollments, "active enrollment stops", "active enrollments stop"));
    }
    Ok(lines)
}

/// Why the tags the workflow adds delete the contact too: the workflows they start.
async fn chained_deletions(repo: &Repo, account: crate::domain::AccountId, wf: &Workflow) -> WebResult<Vec<String>> {
    let mut chained = Vec::new();
    for tag in wf.actions.iter().filter_map(|a| match a {
        WorkflowAction::AddTag { tag } => Some(tag),
        _ => None,
    }) {
        let t = repo.tag_triggers(account, tag.as_str()).await?;
        if !t.deleting.is_empty() {
            chained.push(t.explain(tag.as_str(), 1));
        }
    }
    Ok(chained)
}

/// `POST /workflows/{id}/test`: run the actions once on one contact, whatever the
/// workflow's status (W2); deleting needs an admin and the typed DELETE.
pub async fn test_run(path: web::Path<String>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let wf = load(&repo, user.account_id, &path).await?;
    let cid = ContactId::parse(f.get("contact_id").unwrap_or(""))?;
    let mut confirm = None;
    if wf.deletes() {
        only_admins_test(&user)?;
        confirm = Some(DeleteConfirmation::parse(f.get("confirm").unwrap_or(""))?);
    } else if let Some(c) = f.get("confirm").filter(|c| !c.is_empty()) {
        // its tags start other workflows that delete
        confirm = Some(DeleteConfirmation::parse(c)?);
    }
    if repo.get_contact(user.account_id, cid).await?.is_none() {
        return Err(AppError::NotFound("There is no such contact in this account.".into()));
    }
    let tagger = TagAuthority::person(user.id, user.role, confirm);
    let actor = Actor::workflow(wf.id, user.id, Some(user.id));
    let done = crate::automation::execute(&repo, user.account_id, &wf, &[cid], actor, tagger).await?;
    let outcome = format!("Test run: {}", done.summary);
    repo.record_test_run(user.account_id, wf.id, cid, &outcome, done.batch).await?;
    let mut flash = Flash::success(format!("{outcome}."));
    if let Some(b) = done.batch {
        flash = flash.with_post_action("Undo: restore the contact", format!("/batches/{b}/restore"));
    }
    session.flash(flash);
    Ok(see_other(&format!("/workflows/{}", wf.id)))
}
