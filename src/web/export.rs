//! E1: CSV export of one contact, a selection, or everything matching a filter,
//! streamed a page at a time so memory stays flat at a million rows.

use super::error::WebResult;
use super::form::query_fields;
use super::session::CurrentUser;
use crate::domain::{AccountId, Selection};
use crate::repo::{ContactRow, Repo};
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};

const EXPORT_PAGE: i64 = 2000;
pub const CSV_HEADER: [&str; 8] = ["id", "first_name", "last_name", "email", "phone", "company", "tags", "created_at"];

fn csv_chunk(rows: &[ContactRow], header: bool) -> Result<Bytes, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 120));
    if header {
        w.write_record(CSV_HEADER)?;
    }
    for r in rows {
        w.write_record([
            r.id.to_string().as_str(),
            &neutralize(&r.first_name),
            &neutralize(&r.last_name),
            &neutralize(r.email.as_deref().unwrap_or("")),
            &neutralize(r.phone.as_deref().unwrap_or("")),
            &neutralize(r.company.as_deref().unwrap_or("")),
            &neutralize(&r.tags.join(";")),
            &super::contacts::rfc3339(r.created()),
        ])?;
    }
    w.flush()?;
    Ok(Bytes::from(w.into_inner().map_err(|e| e.into_error())?))
}

/// Spreadsheet programs run cells that start with `=`, `+`, `-` or `@` as formulas;
/// a leading apostrophe keeps a hostile contact name inert (a phone number such as
/// "+1 555" gets one too, which spreadsheets hide).
fn neutralize(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

struct ExportState {
    repo: Repo,
    account: AccountId,
    sel: Selection,
    after: i64,
    first: bool,
    done: bool,
}

/// `GET /contacts/export.csv`: the same selection parameters as delete; for
/// `select_all` without `as_of`, "as of now".
pub async fn export(req: HttpRequest, CurrentUser(user): CurrentUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let f = query_fields(&req);
    let sel = f.selection(Some(repo.now()))?;
    let name = match &sel {
        Selection::Ids(ids) if ids.len() == 1 => format!("contact-{}.csv", ids[0]),
        Selection::Ids(_) => "contacts-selected.csv".to_string(),
        Selection::AllMatching { filter, .. } => format!("contacts-{}.csv", super::contacts::filter_slug(filter)),
    };
    let state = ExportState { repo: repo.get_ref().clone(), account: user.account_id, sel, after: 0, first: true, done: false };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        match st.repo.selection_page(st.account, &st.sel, st.after, EXPORT_PAGE).await {
            Ok(rows) => {
                if (rows.len() as i64) < EXPORT_PAGE {
                    st.done = true;
                }
                if let Some(last) = rows.last() {
                    st.after = last.id;
                }
                let chunk = csv_chunk(&rows, st.first).map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()));
                st.first = false;
                Some((chunk, st))
            }
            Err(e) => {
                // The status line has gone out already: end the stream with an error so
                // the download is seen as broken rather than silently short.
                tracing::error!(error = %e, "export failed midway");
                st.done = true;
                Some((Err(actix_web::error::ErrorInternalServerError("export failed")), st))
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .streaming(stream))
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(super::neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::neutralize("Jane"), "Jane");
    }
}
