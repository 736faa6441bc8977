//! The contact page's actions before deleting (U7): close or move open opportunities,
//! cancel or move upcoming appointments.

use super::error::{AppError, WebResult};
use super::form::Fields;
use super::page::see_other;
use super::session::{CurrentUser, Flash, TypedSession};
use crate::domain::{ContactId, Email};
use crate::repo::handover::Handover;
use crate::repo::Repo;
use super::fragments::Htmx;
use actix_web::{web, HttpResponse};

fn ids(path: &(String, String)) -> WebResult<(ContactId, i64)> {
    let c = ContactId::parse(&path.0).map_err(|_| AppError::NotFound("There is no such contact in this account.".into()))?;
    let i = path.1.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| AppError::NotFound("There is no such item on this contact.".into()))?;
    Ok((c, i))
}

/// `POST /contacts/{id}/opportunities/{opp}/close` (`outcome` = won or lost).
pub async fn close_opportunity(path: web::Path<(String, String)>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let (contact, id) = ids(&path)?;
    let won = match f.get("outcome") {
        Some("won") => true,
        Some("lost") => false,
        _ => return Err(AppError::BadRequest("Choose whether the opportunity was won or lost.".into())),
    };
    repo.close_opportunity(user.account_id, contact, id, won).await?;
    session.flash(Flash::success(format!("Opportunity closed as {}.", if won { "won" } else { "lost" })));
    Ok(see_other(&format!("/contacts/{contact}")))
}

/// `POST /contacts/{id}/appointments/{appt}/cancel`.
pub async fn cancel_appointment(path: web::Path<(String, String)>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let (contact, id) = ids(&path)?;
    repo.cancel_appointment(user.account_id, contact, id).await?;
    session.flash(Flash::success("Appointment cancelled."));
    Ok(see_other(&format!("/contacts/{contact}")))
}

async fn move_item(kind: Handover, htmx: Htmx, path: web::Path<(String, String)>, session: TypedSession, user: crate::repo::UserInfo, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    let (contact, id) = ids(&path)?;
    let to = Email::parse(f.get("to_email").unwrap_or(""))?;
    let target = repo.hand_over(user.account_id, contact, kind, id, &to).await?;
    let what = match kind {
        Handover::Opportunity => "Opportunity",
        Handover::Appointment => "Appointment",
    };
    session.flash(Flash::success(format!("{what} moved to {}.", to.as_str())).with_link("Open that contact", format!("/contacts/{target}")));
    // a form sent in place (its errors show beside it) reloads the page
    Ok(htmx.redirect(&format!("/contacts/{contact}")))
}

/// `POST /contacts/{id}/opportunities/{opp}/move` (`to_email`).
pub async fn move_opportunity(htmx: Htmx, path: web::Path<(String, String)>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    move_item(Handover::Opportunity, htmx, path, session, user, repo, f).await
}

/// `POST /contacts/{id}/appointments/{appt}/move` (`to_email`).
pub async fn move_appointment(htmx: Htmx, path: web::Path<(String, String)>, session: TypedSession, CurrentUser(user): CurrentUser, repo: web::Data<Repo>, f: Fields) -> WebResult<HttpResponse> {
    move_item(Handover::Appointment, htmx, path, session, user, repo, f).await
}
