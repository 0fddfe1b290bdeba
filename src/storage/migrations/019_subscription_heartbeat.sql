-- Heartbeats of the Subscriptions Backport IG (backport-heartbeat-period,
-- src/subscriptions/subscription-engine.ts): when the engine last sent anything to the receiver,
-- so that a heartbeat goes out when nothing was sent for the period, from whichever node.
ALTER TABLE subscription_delivery ADD COLUMN last_sent timestamptz;
