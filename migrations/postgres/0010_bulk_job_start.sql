-- when a worker first picked the job up: the progress rate counts from here
alter table bulk_jobs add column started_at bigint;
create index bulk_jobs_batch on bulk_jobs(batch_id);
