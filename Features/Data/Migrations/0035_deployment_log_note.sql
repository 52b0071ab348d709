-- The log of a deployment that ended before it ran (PushOrder: failed because another deployment's fetch did not bring
-- its commit, or skipped because a newer push replaced it): its one timestamped line, kept in the row instead of a log
-- file of its own (DeployLog reads it when there is no file). A flood of pushes ends thousands of them at once, and
-- creating a file each was a tenth of the panel's CPU per push (ext4 inode allocation; issue 20, bench/webhooks.sh).
ALTER TABLE deployments ADD COLUMN log_note TEXT;
