//! The signed-in user's own settings: the time zone their browser reports.

use super::error::WebResult;
use super::form::Fields;
use super::session::CurrentUser;
use crate::domain::UserZone;
use crate::repo::Repo;
use actix_web::{web, HttpResponse};

/// `POST /me/time-zone` (`time_zone=Europe/Paris`): sent by the page when the browser's
/// zone differs from the stored one. 204, or 400 for a name that is not a zone.
pub async fn set_time_zone(form: Fields, CurrentUser(user): CurrentUser, repo: web::Data<Repo>) -> WebResult<HttpResponse> {
    let zone = UserZone::parse(form.require("time_zone", "The time zone")?)?;
    if zone != user.zone {
        repo.set_time_zone(user.id, zone).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}
