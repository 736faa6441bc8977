//! What is measured besides time: the memory of the processes the bench started
//! (`/proc`), and the latency of pages under concurrent clients.

use crate::http::Http;
use crate::support::child::proc_status_kb;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn hwm_kb(pid: u32) -> Option<u64> {
    proc_status_kb(pid, "VmHWM:")
}

pub fn rss_kb(pid: u32) -> Option<u64> {
    proc_status_kb(pid, "VmRSS:")
}

/// Resets the process's peak RSS to its current RSS (Linux `clear_refs` value 5).
pub fn reset_hwm(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Samples a process's RSS every 50 ms until stopped; returns the largest value seen.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut max = 0;
            while !s.load(Ordering::Relaxed) {
                if let Some(kb) = rss_kb(pid) {
                    max = max.max(kb);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            max
        });
        RssSampler { stop, handle }
    }

    pub fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or(0)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub n: usize,
    pub errors: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub rps: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn stats(mut samples: Vec<f64>, errors: usize, secs: f64) -> Stats {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Stats {
        n: samples.len(),
        errors,
        p50_ms: percentile(&samples, 50.0),
        p99_ms: percentile(&samples, 99.0),
        max_ms: samples.last().copied().unwrap_or(f64::NAN),
        rps: if secs > 0.0 { samples.len() as f64 / secs } else { 0.0 },
    }
}

/// `clients` closed-loop clients GET the targets in turn until `max_requests` are done,
/// `max_secs` have passed or `stop` is set. Returns per-target stats (requests per
/// second over the whole run).
pub async fn load(http: &Http, targets: &[(String, String)], clients: usize, max_requests: usize, max_secs: f64, stop: Option<Arc<AtomicBool>>) -> Vec<Stats> {
    let timeout = http.page_timeout;
    let next = Arc::new(AtomicUsize::new(0));
    let samples: Arc<Mutex<Vec<(usize, f64, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let targets: Arc<Vec<(String, String)>> = Arc::new(targets.to_vec());
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(max_secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (next, samples, targets, stop) = (next.clone(), samples.clone(), targets.clone(), stop.clone());
        let client = http.c.http.clone();
        let base = http.c.base.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if Instant::now() >= deadline || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max_requests {
                    break;
                }
                let k = i % targets.len();
                let t = Instant::now();
                let ok = match client.get(format!("{base}{}", targets[k].1)).timeout(timeout).send().await {
                    Ok(res) => {
                        let good = res.status().as_u16() == 200;
                        res.bytes().await.is_ok() && good
                    }
                    Err(_) => false,
                };
                samples.lock().unwrap().push((k, t.elapsed().as_secs_f64() * 1000.0, ok));
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let all = samples.lock().unwrap().clone();
    (0..targets.len())
        .map(|k| {
            let ok: Vec<f64> = all.iter().filter(|s| s.0 == k && s.2).map(|s| s.1).collect();
            let errors = all.iter().filter(|s| s.0 == k && !s.2).count();
            stats(ok, errors, secs)
        })
        .collect()
}
