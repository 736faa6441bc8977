//! contacts-admin: lets the admins of a CRM account delete contacts and their data
//! safely, one by one or in bulk, restore mistakes within 60 days, and automate
//! clean-up. The binary only parses its command line; everything lives here.

pub mod cli;
pub mod automation;
pub mod clock;
pub mod config;
pub mod domain;
pub mod jobs;
pub mod password;
pub mod repo;
pub mod startup;
pub mod token;
pub mod web;
pub mod webhook_target;
