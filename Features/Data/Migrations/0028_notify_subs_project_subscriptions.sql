-- Project owners subscribe their projects to notification channels (issue 17). How this combines with the channel's
-- own project list (notification_channels.projects) is written once, in Notifications/NotifySubscriptions.cs:
-- a channel for every project, or one that lists the project, delivers its events (an owner may only narrow which);
-- a channel limited to other projects can be joined from the project only when an admin opened it to owners.
ALTER TABLE notification_channels ADD COLUMN open_to_owners INTEGER NOT NULL DEFAULT 0;
CREATE TABLE notification_subscriptions (
    channel_id INTEGER NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- Comma-separated event names this project wants from the channel, or NULL for whatever the channel takes (now and
    -- as the admin changes it). deployment.failed is delivered whatever this says.
    events     TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (channel_id, project_id)
);
CREATE INDEX notification_subscriptions_project ON notification_subscriptions (project_id);
