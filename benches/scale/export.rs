//! The CSV export of every contact, read as it streams, with the server's memory.

use crate::config::Config;
use crate::http::Http;
use crate::measure::{hwm_kb, reset_hwm, rss_kb, RssSampler};
use crate::report::{bytes_h, mib, rate, Report};
use contacts_admin::web::page::thousands;
use std::time::Instant;

pub async fn export_all(cfg: &Config, http: &Http, pid: u32, rep: &mut Report, mem: &mut Vec<(String, u64)>) {
    rep.line("");
    log!("export CSV of all contacts …");
    let rss_before = rss_kb(pid).unwrap_or(0);
    let reset = reset_hwm(pid);
    let sampler = RssSampler::start(pid);
    let t = Instant::now();
    let mut res = http.c.http.get(http.c.url("/contacts/export.csv?select_all=true")).send().await.expect("GET export");
    assert_eq!(res.status().as_u16(), 200, "export status");
    let first_byte = t.elapsed().as_secs_f64();
    let (mut bytes, mut lines) = (0u64, 0i64);
    let mut broken = None;
    loop {
        match res.chunk().await {
            Ok(Some(c)) => {
                bytes += c.len() as u64;
                lines += c.iter().filter(|b| **b == b'\n').count() as i64;
            }
            Ok(None) => break,
            Err(e) => {
                broken = Some(e.to_string());
                break;
            }
        }
        if t.elapsed() > cfg.phase_timeout {
            broken = Some(format!("gave up after {:.0}s", t.elapsed().as_secs_f64()));
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let sampled = sampler.finish();
    let hwm = hwm_kb(pid).unwrap_or(0);
    let export_peak = if reset { hwm.max(sampled) } else { sampled };
    let rows = (lines - 1).max(0);
    log!("  {} rows, {} in {:.1}s", thousands(rows), bytes_h(bytes), secs);
    rep.row(
        "export CSV (GET /contacts/export.csv?select_all)",
        format!("{} rows, {} in {:.1}s = {} rows/s (first byte {:.2}s){}", thousands(rows), bytes_h(bytes), secs, rate(rows, secs), first_byte,
            broken.map(|b| format!(" — STREAM BROKEN: {b}")).unwrap_or_default()),
    );
    rep.row("  server memory during the export", format!("RSS {} before, peak {} ({})", mib(rss_before), mib(export_peak), if reset { "VmHWM reset before the export" } else { "sampled every 50 ms" }));
    mem.push(("after the export (HWM reset before it)".into(), hwm));
}
