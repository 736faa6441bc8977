//! Import CSV (Add Contact menu): a file of contacts, streamed to disk and read row by
//! row, with a report per row — created, skipped (an email already in use) or rejected
//! (a bad row). Tags given to imported contacts fire workflows (W3).

use super::error::{AppError, WebResult};
use super::middleware::MAX_UPLOAD_BYTES;
use super::page::{render, render_status, PageCtx};
use super::session::{CurrentUser, TypedSession};
use crate::domain::{NewContact, TagName};
use crate::repo::{Repo, RepoError};
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use futures_util::StreamExt;
use std::io::Write;

/// Rows listed one by one in the report; beyond that only counted.
const REPORT_ROWS: usize = 500;

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    page: PageCtx,
    report: Option<ImportReport>,
    error: Option<String>,
    /// The file's tags start workflows that delete: the admin must type DELETE.
    confirm_needed: bool,
}

#[derive(Default)]
pub struct ImportReport {
    pub created: u64,
    pub skipped: u64,
    pub rejected: u64,
    pub rows: Vec<(u64, &'static str, String)>,
    pub more: u64,
}

impl ImportReport {
    fn note(&mut self, line: u64, kind: &'static str, text: String) {
        match kind {
            "created" => self.created += 1,
            "skipped" => self.skipped += 1,
            _ => self.rejected += 1,
        }
        if self.rows.len() < REPORT_ROWS {
            self.rows.push((line, kind, text));
        } else {
            self.more += 1;
        }
    }
}

pub async fn form(session: TypedSession, CurrentUser(user): CurrentUser) -> WebResult<HttpResponse> {
    let page = PageCtx::new(&session, &user, "contacts", "Import contacts")?;
    render(&ImportPage { page, report: None, error: None, confirm_needed: false })
}

/// The upload: the file, copied to a temporary file, and the typed confirmation.
struct Upload {
    file: tempfile::NamedTempFile,
    confirm: String,
}

/// Copies the uploaded `file` field to a temporary file, refusing more than the limit,
/// and keeps the short `confirm` field.
async fn save_upload(mut payload: Multipart) -> WebResult<Upload> {
    let mut file = tempfile::NamedTempFile::new().map_err(|e| AppError::Internal(format!("temp file: {e}")))?;
    let mut confirm = Vec::new();
    let mut found = false;
    let mut written = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| AppError::BadRequest(format!("The upload could not be read: {e}")))?;
        if field.name() == Some("confirm") {
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| AppError::BadRequest(format!("The upload could not be read: {e}")))?;
                if confirm.len() + chunk.len() > 64 {
                    return Err(AppError::BadRequest("Type DELETE to confirm, nothing else.".into()));
                }
                confirm.extend_from_slice(&chunk);
            }
            continue;
        }
        if field.name() != Some("file") {
            // drain other fields (the CSRF token, checked by the middleware)
            while let Some(chunk) = field.next().await {
                chunk.map_err(|e| AppError::BadRequest(format!("The upload could not be read: {e}")))?;
            }
            continue;
        }
        found = true;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("The upload could not be read: {e}")))?;
            written += chunk.len();
            if written > MAX_UPLOAD_BYTES {
                return Err(AppError::PayloadTooLarge);
            }
            file.write_all(&chunk).map_err(|e| AppError::Internal(format!("temp file: {e}")))?;
        }
    }
    if !found || written == 0 {
        return Err(AppError::BadRequest("Choose a CSV file to import.".into()));
    }
    file.flush().map_err(|e| AppError::Internal(format!("temp file: {e}")))?;
    Ok(Upload { file, confirm: String::from_utf8_lossy(&confirm).into_owned() })
}

/// What the file's tags start: for each tag that starts workflows that delete, why,
/// with the number of rows that carry it. One pass over the file, before any row is
/// imported, so that nothing is created when the import is refused.
async fn deleting_tags(repo: &Repo, account: crate::domain::AccountId, path: &std::path::Path, cols: &Columns) -> WebResult<Vec<String>> {
    let active = repo.active_workflows(account).await?;
    if active.is_empty() || cols.tags.is_none() {
        return Ok(Vec::new());
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| AppError::Internal(format!("reading the upload: {e}")))?;
    let mut rows_per_tag: std::collections::BTreeMap<String, u64> = Default::default();
    let mut record = csv::StringRecord::new();
    while let Ok(more) = reader.read_record(&mut record) {
        if !more {
            break;
        }
        if let Ok(c) = cols.contact(&record) {
            for t in c.tags {
                *rows_per_tag.entry(t.as_str().to_string()).or_default() += 1;
            }
        }
    }
    Ok(rows_per_tag
        .iter()
        .filter_map(|(tag, n)| {
            let t = crate::domain::TagTriggers::of(tag, &active);
            (!t.deleting.is_empty()).then(|| t.explain(tag, *n))
        })
        .collect())
}

/// Which column holds what, from the header row (case and spaces ignored).
struct Columns {
    first: Option<usize>,
    last: Option<usize>,
    name: Option<usize>,
    email: Option<usize>,
    phone: Option<usize>,
    company: Option<usize>,
    tags: Option<usize>,
}

impl Columns {
    fn from_header(h: &csv::StringRecord) -> Result<Self, AppError> {
        let find = |names: &[&str]| {
            h.iter().position(|c| {
                let c = c.trim().trim_start_matches('\u{feff}').to_lowercase().replace([' ', '-'], "_");
                names.contains(&c.as_str())
            })
        };
        let cols = Columns {
            first: find(&["first_name", "firstname", "first"]),
            last: find(&["last_name", "lastname", "last", "surname"]),
            name: find(&["name", "full_name"]),
            email: find(&["email", "email_address", "e_mail"]),
            phone: find(&["phone", "phone_number", "mobile"]),
            company: find(&["company", "organization", "organisation"]),
            tags: find(&["tags", "tag"]),
        };
        if cols.first.is_none() && cols.last.is_none() && cols.name.is_none() && cols.email.is_none() {
            return Err(AppError::BadRequest(
                "The first row must name the columns: at least one of name, first_name, last_name or email (and optionally phone, company, tags).".into(),
            ));
        }
        Ok(cols)
    }

    fn contact(&self, r: &csv::StringRecord) -> Result<NewContact, String> {
        // without the formula guard an export put on the cell, so that a file exported
        // here comes back with the same values
        let get = |i: Option<usize>| super::export::unguard(i.and_then(|i| r.get(i)).unwrap_or("").trim());
        let (mut first, mut last) = (get(self.first).to_string(), get(self.last).to_string());
        if first.is_empty() && last.is_empty() {
            let full = get(self.name);
            match full.rsplit_once(' ') {
                Some((f, l)) => {
                    first = f.trim().to_string();
                    last = l.trim().to_string();
                }
                None => first = full.to_string(),
            }
        }
        let mut c = NewContact::parse(&first, &last, get(self.email), get(self.phone), get(self.company)).map_err(|e| e.0)?;
        for t in get(self.tags).split([';', '|', ',']).map(str::trim).filter(|t| !t.is_empty()) {
            c.tags.push(TagName::parse(t).map_err(|e| e.0)?);
        }
        c.tags.sort();
        c.tags.dedup();
        Ok(c)
    }
}

/// `POST /contacts/import` (multipart, `file`; CSRF token in the query string).
pub async fn import(session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, payload: Multipart) -> WebResult<HttpResponse> {
    let Upload { file, confirm } = save_upload(payload).await?;
    let confirm = match confirm.as_str() {
        "" => None,
        typed => Some(crate::domain::DeleteConfirmation::parse(typed)?),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(file.path())
        .map_err(|e| AppError::Internal(format!("reading the upload: {e}")))?;
    let header = reader
        .headers()
        .map_err(|_| AppError::BadRequest("The file is not a readable CSV file (its first row could not be read).".into()))?
        .clone();
    let cols = match Columns::from_header(&header) {
        Ok(c) => c,
        Err(AppError::BadRequest(msg)) => return refused(&session, &user, StatusCode::BAD_REQUEST, msg, false),
        Err(e) => return Err(e),
    };
    // Tags that start workflows that delete: a regular user may not import them (R1),
    // an admin types DELETE first (R5). Nothing is imported until then.
    let by = crate::domain::TagAuthority::person(user.id, user.role, confirm);
    let deleting = deleting_tags(&repo, user.account_id, file.path(), &cols).await?;
    if !deleting.is_empty() && !by.may_start_deletions() {
        let (status, error) = if user.role.is_admin() {
            (StatusCode::CONFLICT, format!("{} Choose the file again and type DELETE to import it; nothing was imported.", deleting.join(" ")))
        } else {
            (StatusCode::FORBIDDEN, format!("{} Only an admin may delete contacts, so nothing was imported.", deleting.join(" ")))
        };
        return refused(&session, &user, status, error, user.role.is_admin());
    }
    let report = import_rows(&repo, &user, &mut reader, &cols, by).await?;
    let page = PageCtx::new(&session, &user, "contacts", "Import contacts")?;
    render(&ImportPage { page, report: Some(report), error: None, confirm_needed: false })
}

/// The import page again with `error`, as a `status` response: nothing was imported.
fn refused(session: &TypedSession, user: &crate::repo::UserInfo, status: StatusCode, error: String, confirm_needed: bool) -> WebResult<HttpResponse> {
    let page = PageCtx::new(session, user, "contacts", "Import contacts")?;
    render_status(status, &ImportPage { page, report: None, error: Some(error), confirm_needed })
}

/// Creates a contact for each row after the header, and reports on every row.
async fn import_rows(
    repo: &Repo,
    user: &crate::repo::UserInfo,
    reader: &mut csv::Reader<std::fs::File>,
    cols: &Columns,
    by: crate::domain::TagAuthority,
) -> WebResult<ImportReport> {
    let mut report = ImportReport::default();
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        line += 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let text = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "The row is not valid UTF-8 text.".to_string(),
                    _ => "The row could not be read as CSV.".to_string(),
                };
                report.note(line, "rejected", text);
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        match cols.contact(&record) {
            Err(why) => report.note(line, "rejected", why),
            Ok(c) => {
                let who = crate::domain::display_name(&c.first_name, &c.last_name, c.email.as_ref().map(|e| e.as_str()));
                match repo.create_contact(user.account_id, &c, by).await {
                    Ok(id) => report.note(line, "created", format!("{who} (#{id})")),
                    Err(RepoError::Conflict(_)) => report.note(line, "skipped", format!("{who}: a contact with this email already exists")),
                    // a workflow that deletes was activated during the import
                    Err(RepoError::Forbidden(why) | RepoError::ConfirmationRequired(why)) => report.note(line, "rejected", format!("{who}: {why}")),
                    Err(RepoError::Invalid(why)) => report.note(line, "rejected", format!("{who}: {why}")),
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(report)
}
