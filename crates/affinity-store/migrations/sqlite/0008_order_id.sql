-- Issue 14: the order a cart or purchase line belongs to; the lines of one order form one basket.
ALTER TABLE events ADD COLUMN order_id TEXT;
