-- Asked of the webhooks service by the back-office's access report (issue 17): which outbound
-- deliveries disclosed a given person's data, found by the order or user their payload names,
-- with an index lookup instead of a scan of every delivery.
CREATE INDEX outbound_deliveries_order_ref_idx ON outbound_deliveries ((payload ->> 'order_id'));
CREATE INDEX outbound_deliveries_user_ref_idx ON outbound_deliveries ((payload ->> 'user_id'));
